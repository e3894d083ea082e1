"""Comment spans of Rust source as Pygments' RustLexer (2.18) classifies them.

Comments: ``//`` (and the doc forms ``///``, ``//!``) through the end of the line *including* the
newline; block comments ``/* */`` (and doc ``/** */``, ``/*! */``) which nest and, unterminated, run to
the end of the file. Skipped as code: strings (``"..."`` and ``b"..."``, may span lines, unterminated
ones run to the end), raw strings ``r#"..."#``, character literals (a ``'`` that does not close one is
a lifetime), attributes ``#[...]`` / ``#![...]`` (nested brackets and strings; a ``//`` inside an
attribute is attribute text), and a ``#!`` first line that is not an attribute.

What it does NOT do: tokenize Rust, or treat macros specially (as Pygments does not).
"""

from __future__ import annotations

import re

from opc_data.lexing.events import Hook, Scan, scan_events

__all__ = ["rust_spans"]

Spans = list[tuple[int, int]]

_EVENT = re.compile(r"(?P<lc>//)|(?P<bc>/\*)|(?P<str>\")|(?P<chr>')|(?P<attr>\#!?\[)")
# A quote opens a raw string when `r`, `br` (at a token start) and hashes stand right before it.
_RAW_HEAD = re.compile(r"(?<![\w])b?r(#*)$")
_STRING = re.compile(r'(?s)"(?:[^"\\]|\\.)*"')
_CHAR = re.compile(r"""'(?:\\['"\\nrt]|\\x[0-7][0-9a-fA-F]|\\0|\\u\{[0-9a-fA-F]{1,6}\}|.)'""")
_BYTE_CHAR = re.compile(r"""b'(?:\\['"\\nrt]|\\x[0-9a-fA-F]{2}|\\0|\\u\{[0-9a-fA-F]{1,6}\}|.)'""")
_BLOCK_EVENT = re.compile(r"/\*|\*/")
_ATTR_EVENT = re.compile(r'[\[\]"]')


def _block_end(text: str, pos: int) -> int:
    """End of a (nesting) block comment whose opening ``/*`` ends at ``pos``."""
    depth = 1
    n = len(text)
    while depth:
        m = _BLOCK_EVENT.search(text, pos)
        if m is None:
            return n
        depth += 1 if m.group() == "/*" else -1
        pos = m.end()
    return pos


def _attribute_end(text: str, pos: int) -> int:
    """End of an attribute whose opening bracket ends at ``pos`` (nested brackets, strings skipped)."""
    depth = 1
    n = len(text)
    while depth:
        m = _ATTR_EVENT.search(text, pos)
        if m is None:
            return n
        c = m.group()
        if c == '"':
            s = _STRING.match(text, m.start())
            if s is None:
                return n
            pos = s.end()
            continue
        depth += 1 if c == "[" else -1
        pos = m.end()
    return pos


def _line_comment(scan: Scan, m: re.Match[str]) -> int:
    s = m.start()
    e = scan.text.find("\n", s)
    end = scan.n if e < 0 else e + 1
    scan.spans.append((s, end))
    return end


def _block_comment(scan: Scan, m: re.Match[str]) -> int:
    end = _block_end(scan.text, m.end())
    scan.spans.append((m.start(), end))
    return end


def _string(scan: Scan, m: re.Match[str]) -> int:
    text = scan.text
    s = m.start()
    head = _RAW_HEAD.search(text, max(0, s - 64), s)
    if head is not None:
        hashes = head.group(1)
        close = scan.la.find('"' + hashes, s + 1)
        if close >= 0:
            return close + 1 + len(hashes)
        # no closing: `r`/`r#` are an identifier and punctuation, the quote opens a string
    e = _STRING.match(text, s)
    return e.end() if e else scan.n


def _char(scan: Scan, m: re.Match[str]) -> int:
    text = scan.text
    s = m.start()
    byte = s > 0 and text[s - 1] == "b" and (s < 2 or not (text[s - 2].isalnum() or text[s - 2] == "_"))
    e = _BYTE_CHAR.match(text, s - 1) if byte else _CHAR.match(text, s)
    return e.end() if e else s + 1  # a lifetime tick


_HOOKS: dict[str, Hook] = {"lc": _line_comment, "bc": _block_comment, "str": _string, "chr": _char,
                           "attr": lambda scan, m: _attribute_end(scan.text, m.end())}


def rust_spans(text: str) -> Spans:
    """Comment spans (half-open) of preprocessed Rust source ``text``."""
    pos = 0
    if text.startswith("#!") and not text.startswith("#![") and not text.startswith(("#!\r", "#!\n")):
        pos = text.find("\n")  # Comment.Preproc: code
        pos = len(text) if pos < 0 else pos
    return scan_events(text, _EVENT, _HOOKS, pos)
