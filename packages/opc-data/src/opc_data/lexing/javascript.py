"""Comment spans of JavaScript source as Pygments' JavascriptLexer (2.18) classifies them.

Comments are ``//`` to the end of the line (newline excluded), ``/* ... */`` (an unterminated ``/*`` is
not a comment) and a ``#!`` first line. Strings (single, double quoted, may span lines; an unterminated
quote is a stray character), template literals (with ``${...}`` fields lexed as code, nested templates
included) and regular-expression literals are skipped so that comment markers inside them are code.

Whether a ``/`` opens a regular expression follows Pygments' ``slashstartsregex`` state, not the
ECMAScript grammar: it does at a line start, after an operator, after one of ``{ ( [ ; ,`` and after
the keywords that push that state (``return``, ``typeof``, ``case``, ``this``, ...), with whitespace and
comments in between; elsewhere it is a division. A ``/`` in regex position that does not form a literal
(``/body/flags``, flags followed by a word boundary) makes Pygments skip the rest of the line as code.

What it does NOT do: parse JavaScript (``opc_data.signals.lang_javascript`` uses a real parser).
"""

from __future__ import annotations

import re

from opc_data.lexing.lookahead import Lookahead

__all__ = ["javascript_spans", "typescript_spans", "REGEX_PUSH_WORDS"]

Spans = list[tuple[int, int]]

# Words after which Pygments' JavaScript lexer enters the 'slashstartsregex' state.
REGEX_PUSH_WORDS = frozenset(
    "typeof instanceof in void delete new for while do break return continue switch case default if "
    "else throw try catch finally yield await async this of static export import debugger extends super "
    "var let const with function class".split()
)
# TypeScriptLexer adds these in front of the JavaScript rules.
TS_PUSH_WORDS = frozenset("abstract implements private protected public readonly enum interface override".split())
_ANNOTATION_HEAD = re.compile(r"[\w?.$]\s*:\s*$")
_PUSH_CHARS = frozenset("{([;,+-~?:<>=!*%&|^/")
_OPERATOR_CHARS = frozenset("<>=!+-*%&|^/")

_EVENT = re.compile(r"(?P<lc>//)|(?P<bc>/\*)|(?P<slash>/)|(?P<dq>\")|(?P<sq>')|(?P<bt>`)")
_EVENT_IN_FIELD = re.compile(r"(?P<lc>//)|(?P<bc>/\*)|(?P<slash>/)|(?P<dq>\")|(?P<sq>')|(?P<bt>`)|(?P<close>\})")
_REGEX = re.compile(r"(?s)/(?:\\.|[^\[/\\\n]|\[(?:\\.|[^\]\\\n])*\])+/(?:[gimuysd]+\b|\B)")
_DQ = re.compile(r'(?s)"(?:\\\\|\\[^\\]|[^"\\])*"')
_SQ = re.compile(r"(?s)'(?:\\\\|\\[^\\]|[^'\\])*'")
_TEMPLATE_BODY = re.compile(r"(?s)(?:[^`\\$]|\\.|\$(?!\{))*")
_HASHBANG = re.compile(r"#! ?/[^\n]*")
_WS = " \t\n\r\x0b\x0c"


def _is_ident_char(c: str) -> bool:
    return c.isalnum() or c == "_" or c == "$"


def _allows_regex(text: str, start: int, end: int, prev: bool, ts: bool = False) -> bool:
    """Regex state after the code segment ``text[start:end]`` given the state before it."""
    j = end - 1
    while j >= start and text[j] in _WS:
        j -= 1
    if j < start:
        return prev
    c = text[j]
    if c in _PUSH_CHARS:
        # '=>' (an '=' that no operator before it absorbed) is punctuation that does not push
        return not (
            c == ">" and j > start and text[j - 1] == "=" and (j - 1 == start or text[j - 2] not in _OPERATOR_CHARS)
        )
    if _is_ident_char(c):
        k = j
        while k > 0 and _is_ident_char(text[k - 1]):
            k -= 1
        # a number glued to a word ("2typeof") is two tokens for Pygments: strip the digits
        word = text[k : j + 1].lstrip("0123456789")
        if ts:
            # TypeScript's `name: type` rule swallows the word after a colon (no regex state after it)
            if _ANNOTATION_HEAD.search(text, max(0, k - 200), k):
                return False
            if word in TS_PUSH_WORDS:
                return True
        return word in REGEX_PUSH_WORDS
    return False


def typescript_spans(text: str) -> Spans:
    """Comment spans of preprocessed TypeScript (Pygments' TypeScriptLexer: the JavaScript lexer plus a
    few regex-state keywords and a ``name: type`` rule after which ``/`` is a division)."""
    return javascript_spans(text, typescript=True)


def javascript_spans(text: str, start: int = 0, end: int | None = None, *, typescript: bool = False) -> Spans:
    """Comment spans (half-open) of preprocessed JavaScript ``text[start:end]`` (absolute offsets)."""
    spans: Spans = []
    n = len(text) if end is None else end
    pos = start
    hb = _HASHBANG.match(text, start, n)
    if hb:
        spans.append((start, hb.end()))
        pos = hb.end()
    la = Lookahead(text, n)
    dead = {"dq": False, "sq": False}  # a quote with no closing quote: no later one has one either
    allow = True  # at the start of the input Pygments is at a line start
    depth = 0  # open ${ } fields of template literals
    while pos < n:
        m = (_EVENT_IN_FIELD if depth else _EVENT).search(text, pos, n)
        if m is None:
            break
        s = m.start()
        k = m.lastgroup
        at_line_start = s == start or text[s - 1] == "\n"
        allow = _allows_regex(text, pos, s, allow, typescript)
        if k == "lc":
            e = text.find("\n", s, n)
            e = n if e < 0 else e
            spans.append((s, e))
            pos = e
            continue
        if k == "bc":
            e = la.find("*/", s + 2)
            if e >= 0:
                spans.append((s, e + 2))
                pos = e + 2
                continue
            k = "slash"  # unterminated: a plain '/'
        if k == "slash":
            if allow or at_line_start:
                r = _REGEX.match(text, s, n)
                if r:
                    pos = r.end()
                    allow = False
                else:  # Pygments' 'badregex': the rest of the line is code
                    e = text.find("\n", s, n)
                    pos = n if e < 0 else e
                    allow = False
            else:  # division operator ('/' or '/=')
                pos = s + 2 if text.startswith("=", s + 1) else s + 1
                allow = True
        elif k == "dq" or k == "sq":
            r = None if dead[k] else (_DQ if k == "dq" else _SQ).match(text, s, n)
            dead[k] = r is None
            pos = r.end() if r else s + 1
            allow = False
        else:  # '`' opening a template, or '}' closing a ${ } field: (back) into a template body
            if k == "close":
                depth -= 1
            pos, opened = _template(text, s + 1, n)
            depth += opened
            allow = False  # '${' enters Pygments' root state, not its regex state
    return spans


def _template(text: str, pos: int, n: int) -> tuple[int, int]:
    """Scan a template body from ``pos``: (position after it, 1 if it stopped at '${' else 0)."""
    m = _TEMPLATE_BODY.match(text, pos, n)
    p = m.end() if m else pos
    if p >= n:
        return n, 0
    if text[p] == "`":
        return p + 1, 0
    return p + 2, 1  # '${'
