"""C# quality signals (``qsc_codecsharp_*``), the reference's definitions.

    Document ──▶ doc.code_content (comments removed as Pygments' C# lexer does, opc_data.lexing)
             ──▶ the reference's regexes (methods, usings, bare declarations, bare returns, classes)
             ──▶ ratios per non-blank code line

Reference bug kept by default: ``qsc_codecsharp_cate_var_zero`` compares the *list* of declarations
with 0, which is never equal, so the signal is always 0.0 and its rule (``x == True``) never fires.
``compute(doc, corrected=True)`` gives the intended value instead: 1.0 when the reference's declaration
regex finds no declaration at all (see DIVERGENCES.md, "Language-specific signals").

``RegexLineSignals`` is that counting code, parametrised by the regexes; ``lang_go`` uses it too (the
reference's Go class is the same code, bug included).

What it does NOT do: parse C# (regex "methods" as in the reference), general code signals, keep/drop.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opc_data.document import Document

__all__ = ["compute", "SIGNALS", "RegexLineSignals"]

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


@dataclass(frozen=True)
class RegexLineSignals:
    """The reference's regex-counted signal group shared by C# and Go (same code, other regexes).

    ``func_ratio`` = functions / code lines; ``score_lines_no_logic`` = (functions + imports + bare
    declarations + bare returns + classes) / code lines; ``frac_lines_print`` = code lines containing
    ``print_marker``; ``cate_var_zero`` always 0.0 (the reference's bug), or with ``corrected=True``
    1.0 when ``variable`` finds no declaration. ``leading`` adds language-only signals (Go's
    ``cate_testfile``) first, in the reference's order.
    """

    lang: str
    prefix: str
    function: re.Pattern[str]
    variable: re.Pattern[str]
    simple_variable: re.Pattern[str]
    simple_return: re.Pattern[str]
    class_: re.Pattern[str]
    count_imports: Callable[[str], int]
    print_marker: str
    leading: Callable[[Document], dict[str, Any]] | None = None

    def compute(self, doc: Document, *, corrected: bool = False) -> dict[str, Any]:
        """The group's signals for ``doc`` ({} for another language), cached on the document."""
        if doc.program_lang != self.lang:
            return {}
        key = f"lang_{self.lang}"
        cached = doc.cache.get(key)
        if cached is None:
            cached = doc.cache[key] = self._compute(doc)
        out = dict(cached)
        if corrected:  # the intended definition: no declaration found by the reference's regex
            out[f"{self.prefix}_cate_var_zero"] = float(self.variable.search(doc.code_content) is None)
        return out

    def _compute(self, doc: Document) -> dict[str, Any]:
        p = self.prefix
        code = doc.code_content
        lines = doc.code_lines
        total = len(lines)
        out: dict[str, Any] = dict(self.leading(doc)) if self.leading else {}
        n_functions = len(self.function.findall(code)) if total else 0
        out[f"{p}_frac_lines_func_ratio"] = _frac(n_functions, total) if total else None
        out[f"{p}_cate_var_zero"] = 0.0  # the reference compares a list with 0: never true
        if total:
            count = (
                n_functions
                + self.count_imports(code)
                + len(self.simple_variable.findall(code))
                + len(self.simple_return.findall(code))
                + len(self.class_.findall(code))
            )
            out[f"{p}_score_lines_no_logic"] = _frac(count, total)
            out[f"{p}_frac_lines_print"] = _frac(sum(self.print_marker in ln for ln in lines), total)
        else:
            out[f"{p}_score_lines_no_logic"] = None
            out[f"{p}_frac_lines_print"] = None
        return out


def _frac(count: int, total: int) -> float:
    return round(count / total, PRECISION)


_CSHARP = RegexLineSignals(
    lang="csharp",
    prefix="qsc_codecsharp",
    function=_FUNCTION,
    variable=_VARIABLE,
    simple_variable=_SIMPLE_VARIABLE,
    simple_return=_SIMPLE_RETURN,
    class_=_CLASS,
    count_imports=lambda code: len(_USING.findall(code)),
    print_marker="Console.WriteLine",
)


def compute(doc: Document, *, corrected: bool = False) -> dict[str, Any]:
    """The four ``qsc_codecsharp_*`` signals. ``corrected=True``: ``cate_var_zero`` as intended."""
    return _CSHARP.compute(doc, corrected=corrected)
