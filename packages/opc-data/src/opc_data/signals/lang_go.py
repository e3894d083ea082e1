"""Go quality signals (``qsc_codego_*``), the reference's definitions.

    Document ──▶ doc.code_content (comments removed as Pygments' Go lexer does, opc_data.lexing)
             ──▶ the reference's regexes (funcs, imports, bare ``var``s, bare returns, types)
             ──▶ ratios per non-blank code line

Reference quirks kept: the import count sees only one-line ``import "x"`` statements and ``import (``
lines (its multi-line state is reset on every line), and ``qsc_codego_cate_testfile`` tests the file
name for ``_test.go``. Reference bug kept by default: ``qsc_codego_cate_var_zero`` compares the *list*
of declarations with 0, so it is always 0.0 and its rule never fires; ``compute(doc, corrected=True)``
gives the intended value (1.0 when no ``var``/``const``/``:=`` declaration is found), see DIVERGENCES.md.

What it does NOT do: parse Go, general code signals, keep/drop.
"""

from __future__ import annotations

import re
from typing import Any

from opc_data.document import Document

__all__ = ["compute", "SIGNALS"]

PRECISION = 8

SIGNALS = (
    "qsc_codego_cate_testfile",
    "qsc_codego_frac_lines_func_ratio",
    "qsc_codego_cate_var_zero",
    "qsc_codego_score_lines_no_logic",
    "qsc_codego_frac_lines_print",
)

_FUNCTION = re.compile(
    r"(^func\s+"
    r"(?:\(\s*\w+\s+\*?\w+\s*\))?\s*"
    r"(?:\w+)\s*"
    r"\((?:[^)]*)\)\s*"
    r"(?:\([^)]+\)|[\w\[\]]+)?\s*)",
    re.MULTILINE,
)
_CLASS = re.compile(r"^\s*type\s+\w+\s+(struct|interface)\s*\{[^}]*\}", re.MULTILINE | re.DOTALL)
_SIMPLE_RETURN = re.compile(r"^\s*return(?:\s+[^;\n]+)?\s*;?\s*$", re.MULTILINE)
_VARIABLE = re.compile(
    r"^\s*((?:var|const)\s+\w+(?:,\s*\w+)*\s+[\w\[\]\*]+"
    r"|(?:var|const)\s+\w+(?:,\s*\w+)*(?:\s+[\w\[\]\*]+)?\s*=\s*[^;\n]+"
    r"|\w+(?:\s*,\s*\w+)*\s*:=\s*[^;\n]+"
    r"|(?:var|const)\s+\(\s*(?:\w+\s+[\w\*\[\]]+\s*)+\))",
    re.MULTILINE,
)
_SIMPLE_VARIABLE = re.compile(r"^\s*var\s+(\w+)\s+(\w+)\s*;?\s*$", re.MULTILINE)
_IMPORT_ONE = re.compile(r'^import\s+"[^"]+"$')


def _frac(count: int, total: int) -> float:
    return round(count / total, PRECISION)


def _imports(code: str) -> int:
    n = 0
    for line in code.split("\n"):
        s = line.strip()
        if s == "import (" or (s.startswith("import") and _IMPORT_ONE.match(s)):
            n += 1
    return n


def compute(doc: Document, *, corrected: bool = False) -> dict[str, Any]:
    """The five ``qsc_codego_*`` signals. ``corrected=True``: ``cate_var_zero`` as intended."""
    if doc.program_lang != "go":
        return {}
    cached = doc.cache.get("lang_go")
    if cached is None:
        cached = doc.cache["lang_go"] = _compute(doc)
    out = dict(cached)
    if corrected:  # the intended definition: no declaration found by the reference's regex
        out["qsc_codego_cate_var_zero"] = float(_VARIABLE.search(doc.code_content) is None)
    return out


def _compute(doc: Document) -> dict[str, Any]:
    code = doc.code_content
    lines = doc.code_lines
    total = len(lines)
    out: dict[str, Any] = {"qsc_codego_cate_testfile": float(doc.filename.lower().endswith("_test.go"))}
    n_functions = len(_FUNCTION.findall(code)) if total else 0
    out["qsc_codego_frac_lines_func_ratio"] = _frac(n_functions, total) if total else None
    out["qsc_codego_cate_var_zero"] = 0.0  # the reference compares a list with 0: never true
    if total:
        count = (
            n_functions
            + _imports(code)
            + len(_SIMPLE_VARIABLE.findall(code))
            + len(_SIMPLE_RETURN.findall(code))
            + len(_CLASS.findall(code))
        )
        out["qsc_codego_score_lines_no_logic"] = _frac(count, total)
        out["qsc_codego_frac_lines_print"] = _frac(sum("fmt.Print" in ln for ln in lines), total)
    else:
        out["qsc_codego_score_lines_no_logic"] = None
        out["qsc_codego_frac_lines_print"] = None
    return out
