"""Comment spans of JSON as Pygments' JsonLexer (2.18) classifies them.

Pygments' JSON lexer accepts JavaScript-style comments: ``//`` to the end of the line (newline
excluded) and ``/* */`` (an unterminated one is an error token, i.e. code). Strings are skipped with
the lexer's escape rules, including its quirk that after ``\\u`` the first non-hex character within
the next four is swallowed (so ``"\\u"`` does not close the string). An unterminated string runs to
the end of the file.

What it does NOT do: validate JSON.
"""

from __future__ import annotations

import re

from opc_data.lexing.events import Hook, Scan, scan_events

__all__ = ["json_spans"]

Spans = list[tuple[int, int]]

_EVENT = re.compile(r'(?P<str>")|(?P<slash>/)')
_STRING = re.compile(r'(?s)"(?>[^"\\]+|\\u(?>[0-9a-fA-F]{4}|[0-9a-fA-F]{0,3}.)|\\.)*"')


def _string(scan: Scan, m: re.Match[str]) -> int:
    e = _STRING.match(scan.text, m.start())
    return scan.n if e is None else e.end()  # unterminated: an error token to the end


def _slash(scan: Scan, m: re.Match[str]) -> int:
    s = m.start()
    nxt = scan.text[s + 1 : s + 2]
    if nxt == "/":
        e = scan.text.find("\n", s + 2)
        end = scan.n if e < 0 else e
        scan.spans.append((s, end))
        return end
    if nxt == "*":
        e = scan.la.find("*/", s + 2)
        if e < 0:
            return scan.n  # unterminated: an error token to the end
        scan.spans.append((s, e + 2))
        return e + 2
    return s + 1


_HOOKS: dict[str, Hook] = {"str": _string, "slash": _slash}


def json_spans(text: str) -> Spans:
    """Comment spans (half-open) of preprocessed JSON ``text``."""
    return scan_events(text, _EVENT, _HOOKS)
