"""Syntax guard: a transform's edit is kept only if a file that parsed before still parses after.

Where it sits: the ``data`` stage's transforms (``stage.py``) call ``SyntaxGuard.keep`` after each
transform kind (copyright, then each PII kind) on each file it changed. An edit that breaks a file
that parsed is reverted and counted (``transforms.reverted_<kind>`` in the manifest), so the stage
never ships code that its own edit broke.

    before ──▶ parses? ──no──▶ keep the edit (nothing to protect; we cannot tell)
                 │yes
    after  ──▶ parses? ──yes─▶ keep the edit
                 │no
                 └──────────▶ revert to before, count "reverted"

Parsers: Python with ``ast`` (the running interpreter's grammar: a Python 2 file does not parse
before, so it is not guarded); C, Java, JavaScript and Go with tree-sitter grammars
(a tree without ERROR/MISSING nodes counts as parsing). Other languages are not guarded.

What it does NOT do: check that a program *means* the same after an edit (a replaced string literal
parses either way), or type-check. tree-sitter is error-tolerant, so "parses" there means "the
grammar needed no error recovery", which is stricter than a compiler on some macro-heavy C.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Callable
from functools import cache

_TREE_SITTER = {
    "c": "tree_sitter_c", "java": "tree_sitter_java",
    "javascript": "tree_sitter_javascript", "go": "tree_sitter_go",
}
GUARDED_LANGUAGES = frozenset({"python", *_TREE_SITTER})


def _python_parses(text: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid escape sequences etc. are warnings, not failures
        try:
            ast.parse(text)
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            return False
    return True


@cache
def _tree_sitter_parser(module: str):  # noqa: ANN202 - tree_sitter.Parser, imported lazily
    import importlib

    from tree_sitter import Language, Parser

    return Parser(Language(importlib.import_module(module).language()))


def _tree_sitter_parses(lang: str) -> Callable[[str], bool]:
    def parses(text: str) -> bool:
        tree = _tree_sitter_parser(_TREE_SITTER[lang]).parse(text.encode("utf-8", "surrogatepass"))
        return not tree.root_node.has_error

    return parses


def parser_for(program_lang: str | None) -> Callable[[str], bool] | None:
    """A ``text -> parses?`` function for the language, or None when there is no parser for it."""
    lang = (program_lang or "").lower()
    if lang == "python":
        return _python_parses
    if lang in _TREE_SITTER:
        return _tree_sitter_parses(lang)
    return None


class SyntaxGuard:
    """One file's guard: remembers whether the original parsed, so each check parses only the edit."""

    def __init__(self, original: str, program_lang: str | None) -> None:
        self._parses = parser_for(program_lang)
        self._original = original
        self._original_ok: bool | None = None

    def keep(self, before: str, after: str) -> bool:
        """True when ``after`` may replace ``before``: unchanged, unguarded, or still parsing."""
        if after == before or self._parses is None:
            return True
        if self._original_ok is None:
            self._original_ok = self._parses(self._original)
        if not self._original_ok:
            return True
        return self._parses(after)
