"""C and C++ quality signals (``qsc_codec_*``, ``qsc_codecpp_*``), the reference's definitions.

    Document ──▶ doc.code_content (comments removed as Pygments' C/C++ lexer does, opc_data.lexing)
             ──▶ the reference's regexes (functions, #includes, bare declarations, bare returns, classes)
             ──▶ ratios per non-blank code line

C and C++ share every definition; only the signal prefix and the print test differ (``printf`` for C,
``cout`` or ``printf`` for C++). The regexes are the reference's, run with the stdlib ``re`` engine
(same matches on these patterns; the function pattern gets a look-ahead that only rejects start
positions which cannot match, and a possessive parameter list, for speed); ``cate_var_zero`` only needs to know whether one declaration exists,
so it stops at the first match instead of listing them all.

What it does NOT do: parse C (a regex "function" is any ``words name(args)``, including calls after a
type-like word, as in the reference), general code signals, keep/drop.
"""

from __future__ import annotations

import re
from typing import Any

from opc_data.document import Document

__all__ = ["compute", "SIGNALS_C", "SIGNALS_CPP"]

PRECISION = 8

_SUFFIXES = (
    "frac_lines_func_ratio",
    "cate_bitsstdc",
    "nums_lines_main",
    "frac_lines_goto",
    "cate_var_zero",
    "score_lines_no_logic",
    "frac_lines_print",
    "frac_lines_preprocessor_directives",
)
SIGNALS_C = tuple(f"qsc_codec_{s}" for s in _SUFFIXES)
SIGNALS_CPP = tuple(f"qsc_codecpp_{s}" for s in _SUFFIXES)

_FUNCTION = re.compile(
    r"\b(?=[\w\s*]*\()"  # (speed) a match is words, spaces and '*' up to its '(': skip other starts
    r"((?:[a-zA-Z_]\w*\s*(?:\*+)?\s+)+"  # return type words (pointers, qualifiers)
    r"(?:\*?\s*[a-zA-Z_]\w*)"  # name
    r"\((?:[^)]*+)\)\s*)"  # parameter list
)
_INCLUDE = re.compile(r'^\s*#\s*include\s+["<][^">]+[">]', re.MULTILINE)
_CLASS = re.compile(r"^\s*class\s+\w+\s*(:[^{]*)?\{", re.MULTILINE)
_SIMPLE_VARIABLE = re.compile(
    r"^\s*(?:unsigned\s+)?(?:int|float|double|char|bool|std::string|auto)\s+\w+\s*;", re.MULTILINE
)
_SIMPLE_RETURN = re.compile(
    r"^\s*return\s*(?:(\w+|\d+|\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|true|false|nullptr)\s*)?;\s*$",
    re.MULTILINE,
)
_VARIABLE = re.compile(
    r"\b((?:\w+(?:\s+\w+)?)\s+"
    r"(?:(?:\*+)?\s*"
    r"[\w\[\]]+"
    r"\s*(?:=\s*[^;]*)?"
    r"(?:,\s*(?:\*+)?\s*[\w\[\]]+\s*(?:=\s*[^;]*)?)*)"
    r"\s*;)"
)
_MAIN = re.compile(r"\bmain\s*\([^)]*\)\s*\{")
# any of the reference's 15 per-line patterns (#include, #define, #if..., struct, using)
_DIRECTIVE = re.compile(r"#\s*(?:include|define|if|else|elif|endif|error|pragma|warning|undef|line)|struct|using")
_HEADER_EXTS = frozenset({"h", "hpp", "hxx", "hh", "h++"})


def _frac(count: int, total: int) -> float:
    return round(count / total, PRECISION)


def compute(doc: Document) -> dict[str, Any]:
    """The eight C (``program_lang == "c"``) or C++ (``"cpp"``) signals; {} for other languages."""
    lang = doc.program_lang
    if lang not in ("c", "cpp"):
        return {}
    prefix = "qsc_codec_" if lang == "c" else "qsc_codecpp_"
    code = doc.code_content
    lines = doc.code_lines
    total = len(lines)
    out: dict[str, Any] = {}

    n_functions = len(_FUNCTION.findall(code)) if total else 0
    out[prefix + "frac_lines_func_ratio"] = _frac(n_functions, total) if total else None
    out[prefix + "cate_bitsstdc"] = float("bits/stdc++.h" in code.strip().lower()[:200])
    n_main = len(_MAIN.findall(code))
    out[prefix + "nums_lines_main"] = n_main if lang == "c" else float(n_main)
    out[prefix + "frac_lines_goto"] = _frac(sum("goto" in ln for ln in lines), total) if total else None
    out[prefix + "cate_var_zero"] = float(_VARIABLE.search(code) is None)
    if total:
        count = (
            n_functions
            + len(_INCLUDE.findall(code))
            + len(_SIMPLE_VARIABLE.findall(code))
            + len(_SIMPLE_RETURN.findall(code))
            + len(_CLASS.findall(code))
        )
        out[prefix + "score_lines_no_logic"] = _frac(count, total)
    else:
        out[prefix + "score_lines_no_logic"] = None
    if lang == "c":
        n_print = sum("printf" in ln for ln in lines)
    else:
        n_print = sum("cout" in ln or "printf" in ln for ln in lines)
    out[prefix + "frac_lines_print"] = _frac(n_print, total) if total else None
    if doc.ext in _HEADER_EXTS or total == 0:
        out[prefix + "frac_lines_preprocessor_directives"] = None
    else:
        search = _DIRECTIVE.search
        out[prefix + "frac_lines_preprocessor_directives"] = _frac(sum(1 for ln in lines if search(ln)), total)
    return out
