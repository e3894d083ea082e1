"""HTML quality signals (``qsc_codehtml_*``): the visible text of the page, as the reference extracts it.

    Document.content ──▶ html.parser events ──▶ the text BeautifulSoup's ``get_text()`` would return
                     ──▶ cate_ast (did it parse), num_chars_text, frac_words_text (text / raw length)

The reference builds a BeautifulSoup tree with the stdlib ``html.parser`` backend and calls
``soup.get_text()``. Building the tree costs far more than the signals need, so we drive the same
stdlib parser (same tokenisation, ``convert_charrefs=False`` as BeautifulSoup sets it) and apply
BeautifulSoup's tree-builder rules that decide the text, without building a tree:

* text pieces between two markup events are joined; a piece made only of ASCII whitespace collapses
  to one "\\n" (if it has one) or " ", except inside ``<pre>``/``<textarea>``;
* text inside ``<script>``, ``<style>``, ``<template>``, ``<rt>``, ``<rp>`` is not page text, nor are
  comments, doctypes, declarations and processing instructions; ``<![CDATA[...]]>`` content is;
* an end tag closes every element opened after the matching start tag, and one with no matching open
  element is ignored; void elements (``<br>``, ``<img>``, ...) close at once, and a later ``</br>`` is
  swallowed once (BeautifulSoup's ``already_closed_empty_element``);
* character references below 256 are read as windows-1252, unknown entities stay as ``&name``
  (without their ``;``), known ones use the HTML5 table with BeautifulSoup's name lookup.

A document the parser rejects (``AssertionError`` from the stdlib parser on a malformed marked section)
gets ``cate_ast`` 0.0 and None for the two text signals, as in the reference.

What it does NOT do: build a DOM, render CSS visibility, or look at comment spans (``opc_data.lexing``).
"""

from __future__ import annotations

from html.entities import html5
from html.parser import HTMLParser
from typing import Any

from opc_data.document import Document

__all__ = ["compute", "SIGNALS", "visible_text"]

PRECISION = 8

SIGNALS = ("qsc_codehtml_cate_ast", "qsc_codehtml_frac_words_text", "qsc_codehtml_num_chars_text")

_ASCII_SPACES = "\x20\x0a\x09\x0c\x0d"
_CONTAINERS = frozenset({"rt", "rp", "style", "script", "template"})
_PRESERVE = frozenset({"pre", "textarea"})
_VOID = frozenset(
    "area base br col embed hr img input keygen link menuitem meta param source track wbr "
    "basefont bgsound command frame image isindex nextid spacer".split()
)


def _entity_table() -> dict[str, str]:
    """BeautifulSoup's HTML_ENTITY_TO_CHARACTER: entity name without ';' -> text (first name wins)."""
    table: dict[str, str] = {}
    for name, char in sorted(html5.items()):
        table.setdefault(name[:-1] if name.endswith(";") else name, char)
    return table


_ENTITIES = _entity_table()


class _TextCollector(HTMLParser):
    """html.parser events -> the strings BeautifulSoup's get_text() yields, in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.open_count: dict[str, int] = {}
        self.containers: list[int] = []  # stack indices of open string-container elements
        self.preserve: list[int] = []  # stack indices of open <pre>/<textarea>
        self.current: list[str] = []
        self.out: list[str] = []
        self.closed_empty: list[str] = []

    # --- tree-builder state -------------------------------------------------------------------------
    def _end_data(self, kind: str = "text") -> None:
        if not self.current:
            return
        data = "".join(self.current)
        self.current = []
        if not self.preserve and not data.strip(_ASCII_SPACES):
            data = "\n" if "\n" in data else " "
        if kind == "cdata" or (kind == "text" and not self.containers):
            self.out.append(data)

    def _push(self, name: str) -> None:
        idx = len(self.stack)
        self.stack.append(name)
        self.open_count[name] = self.open_count.get(name, 0) + 1
        if name in _PRESERVE:
            self.preserve.append(idx)
        if name in _CONTAINERS:
            self.containers.append(idx)

    def _pop(self) -> None:
        name = self.stack.pop()
        self.open_count[name] -= 1
        idx = len(self.stack)
        if self.preserve and self.preserve[-1] == idx:
            self.preserve.pop()
        if self.containers and self.containers[-1] == idx:
            self.containers.pop()

    def _pop_to(self, name: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if not self.open_count.get(name):
                break
            if self.stack[i] == name:
                self._pop()
                break
            self._pop()

    def finish(self) -> str:
        self._end_data()
        return "".join(self.out)

    # --- html.parser callbacks ----------------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: Any, handle_empty_element: bool = True) -> None:  # noqa: ARG002
        self._end_data()
        self._push(tag)
        if tag in _VOID and handle_empty_element:
            self.handle_endtag(tag, check_already_closed=False)
            self.closed_empty.append(tag)

    def handle_startendtag(self, tag: str, attrs: Any) -> None:
        self.handle_starttag(tag, attrs, handle_empty_element=False)
        self.handle_endtag(tag)

    def handle_endtag(self, tag: str, check_already_closed: bool = True) -> None:
        if check_already_closed and tag in self.closed_empty:
            self.closed_empty.remove(tag)
        else:
            self._end_data()
            self._pop_to(tag)

    def handle_data(self, data: str) -> None:
        self.current.append(data)

    def handle_charref(self, name: str) -> None:
        if name.startswith("x"):
            code = int(name.lstrip("x"), 16)
        elif name.startswith("X"):
            code = int(name.lstrip("X"), 16)
        else:
            code = int(name)
        data = None
        if code < 256:
            try:
                data = bytes([code]).decode("windows-1252")
            except UnicodeDecodeError:
                data = None
        if not data:
            try:
                data = chr(code)
            except (ValueError, OverflowError):
                data = None
        self.current.append(data or "\N{REPLACEMENT CHARACTER}")

    def handle_entityref(self, name: str) -> None:
        char = _ENTITIES.get(name)
        self.current.append(char if char is not None else f"&{name}")

    def _special(self, data: str, kind: str) -> None:
        self._end_data()
        self.current.append(data)
        self._end_data(kind)

    def handle_comment(self, data: str) -> None:
        self._special(data, "comment")

    def handle_decl(self, decl: str) -> None:
        self._special(decl, "doctype")

    def unknown_decl(self, data: str) -> None:
        if data.upper().startswith("CDATA["):
            self._special(data[len("CDATA[") :], "cdata")
        else:
            self._special(data, "declaration")

    def handle_pi(self, data: str) -> None:
        self._special(data, "pi")


def visible_text(content: str) -> str | None:
    """The text BeautifulSoup(content, "html.parser").get_text() returns; None if the parser rejects it."""
    parser = _TextCollector()
    try:
        parser.feed(content)
        parser.close()
    except Exception:  # noqa: BLE001  (the reference treats any parser failure as "no tree")
        return None
    return parser.finish()


def compute(doc: Document) -> dict[str, Any]:
    """The three ``qsc_codehtml_*`` signals."""
    if doc.program_lang != "html":
        return {}
    text = visible_text(doc.content)
    if text is None:
        return {
            "qsc_codehtml_cate_ast": 0.0,
            "qsc_codehtml_frac_words_text": None,
            "qsc_codehtml_num_chars_text": None,
        }
    n = len(doc.content)
    return {
        "qsc_codehtml_cate_ast": 1.0,
        "qsc_codehtml_frac_words_text": round(len(text) / n, PRECISION) if n else None,
        "qsc_codehtml_num_chars_text": float(len(text)),
    }
