"""Java quality signals (``qsc_codejava_*``), the reference's definitions.

    Document ──▶ doc.code_content (comments removed as Pygments' Java lexer does, opc_data.lexing)
             ──▶ the reference's regexes (methods, imports, declarations, bare returns, classes)
             ──▶ ratios per non-blank code line and over the regex matches

Reference quirks kept (they are what the paper's pipeline computed): the "legal variable name" and
"legal function name" tests look at the *second character* of the matched declaration text (the
reference indexes a string where it meant a match group), the class-name test at the class name;
``qsc_codejava_frac_words_no_modifier`` counts methods whose match text contains an access modifier
(despite its name) while for classes it tests tuple membership, which never holds for a real
declaration, so classes only add to the denominator.

What it does NOT do: parse Java (regex declarations as in the reference), general code signals,
keep/drop.
"""

from __future__ import annotations

import re
from typing import Any

from opc_data.document import Document

__all__ = ["compute", "SIGNALS"]

PRECISION = 8

SIGNALS = (
    "qsc_codejava_cate_var_zero",
    "qsc_codejava_frac_lines_func_ratio",
    "qsc_codejava_score_lines_no_logic",
    "qsc_codejava_frac_words_no_modifier",
    "qsc_codejava_frac_words_legal_var_name",
    "qsc_codejava_frac_words_legal_func_name",
    "qsc_codejava_frac_words_legal_class_name",
    "qsc_codejava_frac_lines_print",
)

_FUNCTION = re.compile(
    r"^(?=[\w\s<>]*\()"  # (speed) only words, spaces and <> can precede the '(' of a match
    r"\s*"
    r"((?:(?:public|protected|private|static)\s+)*"
    r"(?:(?!\s*(?:public|private|protected|else|if)\s*)(?:<\w+>)?\s*\w+\s+)"
    r"(?:\w+\s*)"
    r"(?:\((?:[^\)]*)\))"
    r"(?:\s*throws\s+[\w\, ]+)?)",
    re.MULTILINE,
)
_IMPORT = re.compile(r"^\s*import\s+([\w\.\*]+)\s*;\s*$", re.MULTILINE)
_SIMPLE_VARIABLE = re.compile(
    r"^\s*"
    r"((?:(?:public|protected|private|final|static)\s+)*"
    r"(?:int|float|boolean|char|double|String|(?:[A-Z][\w<>]*))"
    r"\s+(\w+)\s*;)",
    re.MULTILINE,
)
_VARIABLE = re.compile(
    r"^\s*"
    r"((?:(?:public|protected|private|final|static)\s+)*"
    r"(?:int|float|boolean|char|double|String|(?:[A-Z][\w<>]*))"
    r"\s+(?:\w+)\s*"
    r"(?:\s*=\s*[^;]+)?;)",
    re.MULTILINE,
)
_SIMPLE_RETURN = re.compile(
    r'^\s*(return(?:;|\s+(?:\w*|\"(?:[^\"\\]*(?:\\.[^\"\\]*)*)\")\s*;\s*))$', re.MULTILINE
)
_CLASS = re.compile(
    r"^\s*((?:public\s+|protected\s+|private\s+)?(?:final\s+|abstract\s+)?class\s+([\w<>]+))", re.MULTILINE
)
_LEGAL_VAR = re.compile(r"^[a-z][a-zA-Z0-9]*$")
_LEGAL_FUNC = re.compile(r"^[a-zA-Z][a-zA-Z0-9]*$")
_LEGAL_CLASS = re.compile(r"^[A-Z][a-zA-Z0-9]*$")
_MODIFIERS = ("public", "protected", "private")


def _frac(count: int, total: int) -> float:
    return round(count / total, PRECISION)


def compute(doc: Document) -> dict[str, Any]:
    """The eight ``qsc_codejava_*`` signals (None where the reference's value is undefined)."""
    if doc.program_lang != "java":
        return {}
    code = doc.code_content
    lines = doc.code_lines
    total = len(lines)
    functions: list[str] = _FUNCTION.findall(code)
    classes: list[tuple[str, str]] = _CLASS.findall(code)
    variables: list[str] = _VARIABLE.findall(code)
    out: dict[str, Any] = {"qsc_codejava_cate_var_zero": float(not variables)}
    out["qsc_codejava_frac_lines_func_ratio"] = _frac(len(functions), total) if total else None
    if total:
        count = (
            len(functions)
            + len(_IMPORT.findall(code))
            + len(_SIMPLE_VARIABLE.findall(code))
            + len(_SIMPLE_RETURN.findall(code))
            + len(classes)
        )
        out["qsc_codejava_score_lines_no_logic"] = _frac(count, total)
    else:
        out["qsc_codejava_score_lines_no_logic"] = None
    with_modifier = sum(1 for f in functions if any(m in f for m in _MODIFIERS))
    with_modifier += sum(1 for c in classes if any(m in c for m in _MODIFIERS))  # tuple membership
    n_decl = len(functions) + len(classes)
    out["qsc_codejava_frac_words_no_modifier"] = _frac(with_modifier, n_decl) if n_decl else None
    out["qsc_codejava_frac_words_legal_var_name"] = (
        _frac(sum(1 for v in variables if _LEGAL_VAR.match(v[1])), len(variables)) if variables else None
    )
    out["qsc_codejava_frac_words_legal_func_name"] = (
        _frac(sum(1 for f in functions if _LEGAL_FUNC.match(f[1])), len(functions)) if functions else None
    )
    out["qsc_codejava_frac_words_legal_class_name"] = (
        _frac(sum(1 for c in classes if _LEGAL_CLASS.match(c[1])), len(classes)) if classes else None
    )
    out["qsc_codejava_frac_lines_print"] = (
        _frac(sum("System.out.print" in ln for ln in lines), total) if total else None
    )
    return out
