"""Go quality signals (``qsc_codego_*``), the reference's definitions.

    Document ──▶ doc.code_content (comments removed as Pygments' Go lexer does, opc_data.lexing)
             ──▶ the reference's regexes (funcs, imports, bare ``var``s, bare returns, types)
             ──▶ ratios per non-blank code line

Reference quirks kept: the import count sees only one-line ``import "x"`` statements and ``import (``
lines (its multi-line state is reset on every line), and ``qsc_codego_cate_testfile`` tests the file
name for ``_test.go``. Reference bug kept by default: ``qsc_codego_cate_var_zero`` compares the *list*
of declarations with 0, so it is always 0.0 and its rule never fires; ``compute(doc, corrected=True)``
gives the intended value (1.0 when no ``var``/``const``/``:=`` declaration is found), see DIVERGENCES.md.

The counting itself is C#'s (``lang_csharp.RegexLineSignals``: the reference's two classes are the same
code with other regexes); this module holds Go's regexes, import count and test-file signal.

What it does NOT do: parse Go, general code signals, keep/drop.
"""

from __future__ import annotations

import re
from typing import Any

from opc_data.document import Document
from opc_data.signals.lang_csharp import RegexLineSignals

__all__ = ["compute", "SIGNALS"]

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


def _imports(code: str) -> int:
    n = 0
    for line in code.split("\n"):
        s = line.strip()
        if s == "import (" or (s.startswith("import") and _IMPORT_ONE.match(s)):
            n += 1
    return n


def _testfile(doc: Document) -> dict[str, Any]:
    return {"qsc_codego_cate_testfile": float(doc.filename.lower().endswith("_test.go"))}


_GO = RegexLineSignals(
    lang="go",
    prefix="qsc_codego",
    function=_FUNCTION,
    variable=_VARIABLE,
    simple_variable=_SIMPLE_VARIABLE,
    simple_return=_SIMPLE_RETURN,
    class_=_CLASS,
    count_imports=_imports,
    print_marker="fmt.Print",
    leading=_testfile,
)


def compute(doc: Document, *, corrected: bool = False) -> dict[str, Any]:
    """The five ``qsc_codego_*`` signals. ``corrected=True``: ``cate_var_zero`` as intended."""
    return _GO.compute(doc, corrected=corrected)
