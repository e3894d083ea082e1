"""Comment spans of C, C++, C#, Java and Go source as the Pygments (2.18) lexers classify them.

Each scanner jumps from one "event" (a character that can open a comment, a string, a character
literal or a preprocessor line) to the next with a single compiled regex search, and skips strings so
that comment markers inside them are code. The Pygments quirks kept on purpose (they change which lines
count as code in the reference):

C / C++ (CFamilyLexer)
    ``//`` comments run through backslash-newlines and *include* their final newline (the next line is
    glued to the code before the comment); ``/*`` without ``*/`` is a comment to the end of the file;
    preprocessor lines (``#`` at a line start, optionally after one ``/* */``) are code, except that in
    them a ``/* */`` or ``//`` is still a comment, string quotes mean nothing, and whatever follows the
    file name of ``#include <x>`` / ``#include "x"`` on that line is a Comment.Single; ``#if 0`` blocks
    (up to the matching ``#else``/``#elif``/``#endif``) are code (Pygments' plain Comment type);
    a character literal is one (escaped) character between quotes, any other quote is a stray
    character; C++ raw strings ``R"d(...)d"`` are strings.
Java
    ``//`` comments end before the newline; ``/*`` without ``*/`` is not a comment; strings may span
    lines; text blocks open with three quotes and a newline.
C#
    ``//`` comments include their newline; ``/*`` without ``*/`` is not a comment; a regular string
    ends at its closing quote or at the end of the line, a verbatim ``@"..."`` string at a lone quote;
    ``#if``/``#region``/... lines are code to the end of the line (comments included); a ``[...]`` at a
    line start (an attribute) is code up to the first ``]``.
Go
    ``//`` comments end before the newline; ``/*`` without ``*/`` is not a comment; interpreted strings
    may span lines, raw strings are back-quoted.

What it does NOT do: tokenize, find preprocessor structure beyond the above, or validate the source.
"""

from __future__ import annotations

import re

from opc_data.lexing.events import Hook, Scan, scan_events
from opc_data.lexing.lookahead import Lookahead

__all__ = ["c_spans", "cpp_spans", "csharp_spans", "java_spans", "go_spans"]

Spans = list[tuple[int, int]]

# ---------------------------------------------------------------------------------------------- C / C++
# A preprocessor line start: optional whitespace and at most one one-line /* */ before '#'.
_C_EVENT = re.compile(
    r"(?m)^(?P<pp>[^\S\n]*(?P<ppc>/\*[^\n]*?\*/)?[^\S\n]*#)"
    r"|(?P<raw>(?<![\w$])(?:[LuU]|u8)?R\"(?P<delim>[^\\()\s]{0,16})\()"
    r"|(?P<lc>//)|(?P<bc>/\*)|(?P<str>\")|(?P<chr>')"
)
_C_EVENT_NORAW = re.compile(
    r"(?m)^(?P<pp>[^\S\n]*(?P<ppc>/\*[^\n]*?\*/)?[^\S\n]*#)"
    r"|(?P<lc>//)|(?P<bc>/\*)|(?P<str>\")|(?P<chr>')"
)
_C_LINE_COMMENT = re.compile(r"//(?:[^\n]|(?<=\\)\n)*\n")
_C_STRING = re.compile(r'(?s)"(?:[^"\\\n]|\\.)*(?:"|(?=\n)|\Z)')
_C_CHAR = re.compile(r"'(?:\\.|\\[0-7]{1,3}|\\x[a-fA-F0-9]{1,2}|[^\\'\n])'")
_C_IF0 = re.compile(r"#if\s+0")
_C_INCLUDE = re.compile(r'(?s)(\s*(?:/[*].*?[*]/\s*)?)include(\s*(?:/[*].*?[*]/\s*)?)(?:"[^"]+"|<[^>]+>)')
_ONELINE_BLOCK = re.compile(r"/[*][^\n]*?[*]/")
_MACRO_EVENT = re.compile(r"(?P<bc>/\*)|(?P<lc>//)|(?P<nl>\n)")
_IF0_LINE = re.compile(r"(?m)^\s*#(?:(?P<push>if)|(?P<pop>el(?:se|if)|endif))")


def _macro(text: str, pos: int, spans: Spans, la: Lookahead) -> int:
    """Scan a preprocessor directive from just after its '#'; return the position after it."""
    m = _C_INCLUDE.match(text, pos)
    if m:
        for g in (1, 2):
            for c in _ONELINE_BLOCK.finditer(m.group(g)):
                spans.append((m.start(g) + c.start(), m.start(g) + c.end()))
        # the rest of the line after the file name is a Comment.Single
        nl = text.find("\n", m.end())
        if nl < 0:
            nl = len(text)
        if nl > m.end():
            spans.append((m.end(), nl))
        return nl + 1
    n = len(text)
    while pos < n:
        m = _MACRO_EVENT.search(text, pos)
        if m is None:
            return n
        k = m.lastgroup
        if k == "nl":
            if m.start() > 0 and text[m.start() - 1] == "\\":
                pos = m.end()  # line continuation: still in the directive
                continue
            return m.end()
        if k == "bc":
            e = la.find("*/", m.end())
            if e < 0:  # unterminated: '/' is code, the rest goes on as directive text
                pos = m.start() + 1
                continue
            spans.append((m.start(), e + 2))
            pos = e + 2
        else:  # '//' comment including its newline ends the directive
            nl = text.find("\n", m.end())
            if nl < 0:
                spans.append((m.start(), n))
                return n
            spans.append((m.start(), nl + 1))
            return nl + 1
    return n


def _if0(text: str, pos: int) -> int:
    """Skip an ``#if 0`` block (code for the reference) from just after ``#if 0``."""
    nl = text.find("\n", pos)
    if nl < 0:
        return len(text)
    depth = 1
    pos = nl + 1
    while True:
        m = _IF0_LINE.search(text, pos)
        if m is None:
            return len(text)
        nl = text.find("\n", m.end())
        end = len(text) if nl < 0 else nl + 1
        if m.group("push"):
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return end
        pos = end


def _c_pp(scan: Scan, m: re.Match[str], cpp: bool) -> int:
    text = scan.text
    hash_pos = m.end() - 1
    if m.group("ppc"):
        # Pygments lexes the text before '#' with a fresh lexer: the first '*/' ends the comment
        prefix = m.start()
        scan.spans.extend((prefix + a, prefix + b) for a, b in _c_family(text[prefix:hash_pos], cpp))
    if _C_IF0.match(text, hash_pos):
        return _if0(text, hash_pos + 1)
    return _macro(text, hash_pos + 1, scan.spans, scan.la)


def _c_line_comment(scan: Scan, m: re.Match[str]) -> int:
    e = _C_LINE_COMMENT.match(scan.text, m.start())
    end = e.end() if e else scan.n
    scan.spans.append((m.start(), end))
    return end


def _c_block_comment(scan: Scan, m: re.Match[str]) -> int:
    e = scan.la.find("*/", m.end())
    end = scan.n if e < 0 else e + 2
    scan.spans.append((m.start(), end))
    return end


def _c_string(scan: Scan, m: re.Match[str]) -> int:
    e = _C_STRING.match(scan.text, m.start())
    return e.end() if e else m.end()


def _c_char(scan: Scan, m: re.Match[str]) -> int:
    e = _C_CHAR.match(scan.text, m.start())
    return e.end() if e else m.end()


def _cpp_raw_string(scan: Scan, m: re.Match[str]) -> int:
    close = scan.la.find(")" + m.group("delim") + '"', m.end())
    if close < 0:  # not a raw string after all: 'R' is an identifier, '"' opens a string
        e = _C_STRING.match(scan.text, m.end("delim") - len(m.group("delim")) - 1)
        return e.end() if e else m.end()
    return close + len(m.group("delim")) + 2


def _c_hooks(cpp: bool) -> dict[str, Hook]:
    pp: Hook = lambda scan, m: _c_pp(scan, m, cpp)  # noqa: E731
    return {"pp": pp, "ppc": pp, "lc": _c_line_comment, "bc": _c_block_comment, "str": _c_string,
            "chr": _c_char, "raw": _cpp_raw_string, "delim": _cpp_raw_string}


_C_HOOKS = _c_hooks(cpp=False)
_CPP_HOOKS = _c_hooks(cpp=True)


def _c_family(text: str, cpp: bool) -> Spans:
    return scan_events(text, _C_EVENT, _CPP_HOOKS) if cpp else scan_events(text, _C_EVENT_NORAW, _C_HOOKS)


def c_spans(text: str) -> Spans:
    """Comment spans of preprocessed C source (Pygments CLexer)."""
    return _c_family(text, cpp=False)


def cpp_spans(text: str) -> Spans:
    """Comment spans of preprocessed C++ source (Pygments CppLexer)."""
    return _c_family(text, cpp=True)


# ---------------------------------------------------------------------------------------------- Java
_JAVA_EVENT = re.compile(r"(?P<lc>//)|(?P<bc>/\*)|(?P<tb>\"\"\"\n)|(?P<str>\")|(?P<chr>')")
_JAVA_STRING = re.compile(r'(?s)"(?:[^"\\]|\\.)*"')
_JAVA_TEXT_BLOCK = re.compile(r'(?s)"""\n(?:[^"\\]|\\.|"(?!""))*(?:"""|\Z)')
_JAVA_CHAR = re.compile(r"(?s)'\\u[0-9a-fA-F]{4}'|'\\.'|'[^\\]'")


def _line_comment_to_newline(scan: Scan, m: re.Match[str]) -> int:
    """A ``//`` comment that ends before its newline (Java, Go)."""
    s = m.start()
    e = scan.text.find("\n", s)
    end = scan.n if e < 0 else e
    scan.spans.append((s, end))
    return end


def _line_comment_with_newline(scan: Scan, m: re.Match[str]) -> int:
    """A ``//`` comment that includes its newline (C#)."""
    s = m.start()
    e = scan.text.find("\n", s)
    end = scan.n if e < 0 else e + 1
    scan.spans.append((s, end))
    return end


def _closed_block_comment(scan: Scan, m: re.Match[str]) -> int:
    """``/* ... */``; without ``*/`` the ``/`` is an operator (Java, C#)."""
    s = m.start()
    e = scan.la.find("*/", s + 2)
    if e < 0:
        return s + 1
    scan.spans.append((s, e + 2))
    return e + 2


def _java_text_block(scan: Scan, m: re.Match[str]) -> int:
    e = _JAVA_TEXT_BLOCK.match(scan.text, m.start())
    return e.end() if e else scan.n


def _java_string(scan: Scan, m: re.Match[str]) -> int:
    e = _JAVA_STRING.match(scan.text, m.start())
    return e.end() if e else scan.n  # unterminated: Pygments stays in the string state to the end


def _java_char(scan: Scan, m: re.Match[str]) -> int:
    s = m.start()
    e = _JAVA_CHAR.match(scan.text, s)
    return e.end() if e else s + 1


_JAVA_HOOKS: dict[str, Hook] = {"lc": _line_comment_to_newline, "bc": _closed_block_comment,
                                "tb": _java_text_block, "str": _java_string, "chr": _java_char}


def java_spans(text: str) -> Spans:
    """Comment spans of preprocessed Java source (Pygments JavaLexer)."""
    return scan_events(text, _JAVA_EVENT, _JAVA_HOOKS)


# ---------------------------------------------------------------------------------------------- C#
_CS_EVENT = re.compile(
    r"(?m)^(?P<attr>\s*\[)"
    r"|(?P<lc>//)|(?P<bc>/\*)|(?P<vstr>@\")|(?P<str>\$?\")|(?P<chr>')"
    r"|(?P<pp>\#[ \t]*(?:if|endif|else|elif|define|undef|line|error|warning|region|endregion|pragma)\b)"
)
_CS_VERBATIM = re.compile(r'@"(?:""|[^"])*"')
_CS_STRING = re.compile(r'(?s)\$?"(?:\\\\|\\[^\\]|[^"\\\n])*["\n]')
_CS_CHAR = re.compile(r"(?s)'\\.'|'[^\\]'")


def _cs_attribute(scan: Scan, m: re.Match[str]) -> int:
    e = scan.la.find("]", m.end())
    return m.end() if e < 0 else e + 1  # no closing bracket: not an attribute; go on after the '['


def _cs_verbatim(scan: Scan, m: re.Match[str]) -> int:
    s = m.start()
    e = _CS_VERBATIM.match(scan.text, s)
    return e.end() if e else s + 1


def _cs_string(scan: Scan, m: re.Match[str]) -> int:
    e = _CS_STRING.match(scan.text, m.start())
    return e.end() if e else m.end()


def _cs_char(scan: Scan, m: re.Match[str]) -> int:
    s = m.start()
    e = _CS_CHAR.match(scan.text, s)
    return e.end() if e else s + 1


def _cs_preprocessor(scan: Scan, m: re.Match[str]) -> int:
    """A preprocessor line: code up to and including the newline."""
    e = scan.text.find("\n", m.end())
    return scan.n if e < 0 else e + 1


_CS_HOOKS: dict[str, Hook] = {"attr": _cs_attribute, "lc": _line_comment_with_newline, "bc": _closed_block_comment,
                              "vstr": _cs_verbatim, "str": _cs_string, "chr": _cs_char, "pp": _cs_preprocessor}


def csharp_spans(text: str) -> Spans:
    """Comment spans of preprocessed C# source (Pygments CSharpLexer)."""
    return scan_events(text, _CS_EVENT, _CS_HOOKS)


# ---------------------------------------------------------------------------------------------- Go
_GO_EVENT = re.compile(r"(?P<lc>//)|(?P<bc>/(?:\\\n)?\*)|(?P<raw>`)|(?P<str>\")|(?P<chr>')")
_GO_BLOCK = re.compile(r"(?s)/(?:\\\n)?[*].*?[*](?:\\\n)?/")
_GO_STRING = re.compile(r'(?s)"(?:\\\\|\\[^\\]|[^"\\])*"')
_GO_CHAR = re.compile(
    r"""'(?:\\['"\\abfnrtv]|\\x[0-9a-fA-F]{2}|\\[0-7]{1,3}|\\u[0-9a-fA-F]{4}|\\U[0-9a-fA-F]{8}|[^\\])'"""
)


# once an opener finds no closer, no later opener of the same kind can (see lookahead.py): scan.flags


def _go_block_comment(scan: Scan, m: re.Match[str]) -> int:
    s = m.start()
    e = None if scan.flags.get("block_dead") else _GO_BLOCK.match(scan.text, s)
    scan.flags["block_dead"] = e is None
    if e is None:
        return s + 1
    scan.spans.append((s, e.end()))
    return e.end()


def _go_raw_string(scan: Scan, m: re.Match[str]) -> int:
    s = m.start()
    e = scan.la.find("`", s + 1)
    return s + 1 if e < 0 else e + 1


def _go_string(scan: Scan, m: re.Match[str]) -> int:
    s = m.start()
    e = None if scan.flags.get("string_dead") else _GO_STRING.match(scan.text, s)
    scan.flags["string_dead"] = e is None
    return e.end() if e else s + 1


def _go_char(scan: Scan, m: re.Match[str]) -> int:
    s = m.start()
    e = _GO_CHAR.match(scan.text, s)
    return e.end() if e else s + 1


_GO_HOOKS: dict[str, Hook] = {"lc": _line_comment_to_newline, "bc": _go_block_comment, "raw": _go_raw_string,
                              "str": _go_string, "chr": _go_char}


def go_spans(text: str) -> Spans:
    """Comment spans of preprocessed Go source (Pygments GoLexer)."""
    return scan_events(text, _GO_EVENT, _GO_HOOKS)
