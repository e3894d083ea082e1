"""Comment spans of Python source as Pygments' PythonLexer (2.18) classifies them.

Comments are ``#`` to the end of the line (Comment.Single / Comment.Hashbang) and "docstrings": the
lexer calls String.Doc any triple-quoted string whose opening quotes start a line (after whitespace and
at most two of the prefixes r/u/b), closed by the first matching triple quote with no escape handling,
wherever it stands (a triple-quoted argument on its own line is a "docstring" too). Every other string
is code; a single-quoted string ends at its closing quote or at an unescaped newline, a triple-quoted
one at its closing quotes or at the end of the file. F-string replacement fields are scanned as plain
string text (Pygments lexes them as expressions; only a ``#`` or quote inside a field could differ).

What it does NOT do: tokenize Python (use ``tokenize``/``ast`` for that) or the reference's *other*
Python comment notion (``qsc_code_frac_chars_comments`` uses ``tokenize`` + ``ast`` docstrings, see
``opc_data.signals.general_code.python_comment_text``).
"""

from __future__ import annotations

import re

from opc_data.lexing.events import Hook, Scan, scan_events

__all__ = ["python_spans"]

# Next event in code: a docstring head at a line start, a comment, or a string opening (with prefix).
_EVENT = re.compile(
    r"""(?m)^(?P<doc>[^\S\n]*[rRuUbB]{0,2}(?:\"\"\"|'''))"""
    r"""|(?P<hash>\#)"""
    r"""|(?P<str>(?P<pfx>[rRuUbBfF]{0,2})(?:\"\"\"|'''|"|'))"""
)
# String bodies after the opening quote(s). DOTALL so "\\." also escapes a newline.
_END = {
    ('"', False): re.compile(r'(?s)(?:[^"\\\n]|\\.)*(?:"|(?=\n)|\Z)'),
    ("'", False): re.compile(r"(?s)(?:[^'\\\n]|\\.)*(?:'|(?=\n)|\Z)"),
    ('"""', False): re.compile(r'(?s)(?:[^"\\]|\\.|"(?!""))*(?:"""|\Z)'),
    ("'''", False): re.compile(r"(?s)(?:[^'\\]|\\.|'(?!''))*(?:'''|\Z)"),
    # raw single-quoted strings still treat \\ \" and backslash-newline as pairs (Pygments' dqs/sqs rules)
    ('"', True): re.compile(r'(?s)(?:[^"\\\n]|\\.)*(?:"|(?=\n)|\Z)'),
    ("'", True): re.compile(r"(?s)(?:[^'\\\n]|\\.)*(?:'|(?=\n)|\Z)"),
    # raw triple-quoted strings: a backslash protects nothing
    ('"""', True): re.compile(r'(?s).*?(?:"""|\Z)'),
    ("'''", True): re.compile(r"(?s).*?(?:'''|\Z)"),
}


def _docstring(scan: Scan, m: re.Match[str]) -> int:
    head = m.group("doc")
    q = head[-3:]
    qstart = m.end() - 3
    close = scan.text.find(q, m.end())
    if close >= 0:
        scan.spans.append((qstart, close + 3))
        return close + 3
    # unterminated: an ordinary (escaped) triple-quoted string to the end of the file
    raw = "r" in head.lower()
    e = _END[(q, raw)].match(scan.text, m.end())
    return e.end() if e else scan.n


def _hash(scan: Scan, m: re.Match[str]) -> int:
    s = m.start()
    e = scan.text.find("\n", s)
    if e < 0:
        e = scan.n
    scan.spans.append((s, e))
    return e


def _string(scan: Scan, m: re.Match[str]) -> int:
    text = scan.text
    whole = m.group("str")
    pfx = m.group("pfx")
    q = whole[len(pfx):]
    start = m.end()
    if pfx and m.start() > 0 and (text[m.start() - 1].isalnum() or text[m.start() - 1] == "_"):
        # the letters belong to an identifier (e.g. ``expr"``); only the quote opens the string
        pfx = ""
    raw = "r" in pfx.lower()
    e = _END[(q, raw)].match(text, start)
    pos = e.end() if e else scan.n
    if pos == start and q in ('"', "'") and start < scan.n and text[start] != "\n":
        pos = start + 1  # defensive: always progress
    return pos


_HOOKS: dict[str, Hook] = {"doc": _docstring, "hash": _hash, "str": _string, "pfx": _string}


def python_spans(text: str) -> list[tuple[int, int]]:
    """Comment spans (half-open) of preprocessed Python source ``text``."""
    return scan_events(text, _EVENT, _HOOKS)
