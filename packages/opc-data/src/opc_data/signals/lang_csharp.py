"""C# quality signals (``qsc_codecsharp_*``), the reference's definitions.

    Document ──▶ doc.code_content (comments removed as Pygments' C# lexer does, opc_data.lexing)
             ──▶ the reference's regexes (methods, usings, bare declarations, bare returns, classes)
             ──▶ ratios per non-blank code line

Reference bug kept by default: ``qsc_codecsharp_cate_var_zero`` compares the *list* of declarations
with 0, which is never equal, so the signal is always 0.0 and its rule (``x == True``) never fires.
``compute(doc, corrected=True)`` gives the intended value instead: 1.0 when the reference's declaration
regex finds no declaration at all (see DIVERGENCES.md, "Language-specific signals").

What it does NOT do: parse C# (regex "methods" as in the reference), general code signals, keep/drop.
"""

from __future__ import annotations

import re
from typing import Any

from opc_data.document import Document

__all__ = ["compute", "SIGNALS"]

PRECISION = 8

SIGNALS = (
    "qsc_codecsharp_frac_lines_func_ratio",
    "qsc_codecsharp_cate_var_zero",
    "qsc_codecsharp_score_lines_no_logic",
    "qsc_codecsharp_frac_lines_print",
)

_FUNCTION = re.compile(
    r"^(?=[\w\s<>]*\()"  # (speed) only words, spaces and <> can precede the '(' of a match
    r"\s*"
    r"((?:(?:public|protected|private|internal)\s+)?"
    r"(?:(?:static|virtual|override|abstract|async)\s+)?"
    r"(?:(?!\s*(?:public|private|protected|if|else)\s*)(?:<\w+>)?\s*\w+\s+)"
    r"(?:\w+\s*)"
    r"(?:\((?:[^\)]*)\)))",
    re.MULTILINE,
)
_VARIABLE = re.compile(
    r"\b(?:int|float|double|char|string|var|bool|byte|sbyte|short|ushort|uint|long|ulong|decimal)\s+\w+"
    r"(?:\s*=\s*[^;\n]+)?",
    re.MULTILINE,
)
_USING = re.compile(r"^\s*using\s+[a-zA-Z0-9_.]+\s*;", re.MULTILINE)
_CLASS = re.compile(r"\b(?:public|private|protected|internal|static|abstract|sealed)?\s*class\s+\w+", re.MULTILINE)
_SIMPLE_RETURN = re.compile(r"^\s*return\b(?:\s+[^;\n]+)?\s*;", re.MULTILINE)
_SIMPLE_VARIABLE = re.compile(
    r"\b(?:int|float|double|char|string|bool|byte|sbyte|short|ushort|uint|long|ulong|decimal)\s+\w+\s*;",
    re.MULTILINE,
)


def _frac(count: int, total: int) -> float:
    return round(count / total, PRECISION)


def compute(doc: Document, *, corrected: bool = False) -> dict[str, Any]:
    """The four ``qsc_codecsharp_*`` signals. ``corrected=True``: ``cate_var_zero`` as intended."""
    if doc.program_lang != "csharp":
        return {}
    cached = doc.cache.get("lang_csharp")
    if cached is None:
        cached = doc.cache["lang_csharp"] = _compute(doc)
    out = dict(cached)
    if corrected:  # the intended definition: no declaration found by the reference's regex
        out["qsc_codecsharp_cate_var_zero"] = float(_VARIABLE.search(doc.code_content) is None)
    return out


def _compute(doc: Document) -> dict[str, Any]:
    code = doc.code_content
    lines = doc.code_lines
    total = len(lines)
    out: dict[str, Any] = {}
    n_functions = len(_FUNCTION.findall(code)) if total else 0
    out["qsc_codecsharp_frac_lines_func_ratio"] = _frac(n_functions, total) if total else None
    out["qsc_codecsharp_cate_var_zero"] = 0.0  # the reference compares a list with 0: never true
    if total:
        count = (
            n_functions
            + len(_USING.findall(code))
            + len(_SIMPLE_VARIABLE.findall(code))
            + len(_SIMPLE_RETURN.findall(code))
            + len(_CLASS.findall(code))
        )
        out["qsc_codecsharp_score_lines_no_logic"] = _frac(count, total)
        out["qsc_codecsharp_frac_lines_print"] = _frac(sum("Console.WriteLine" in ln for ln in lines), total)
    else:
        out["qsc_codecsharp_score_lines_no_logic"] = None
        out["qsc_codecsharp_frac_lines_print"] = None
    return out
