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

from opc_data.lexing.lookahead import Lookahead

__all__ = ["json_spans"]

Spans = list[tuple[int, int]]

_EVENT = re.compile(r'[/"]')
_STRING = re.compile(r'(?s)"(?>[^"\\]+|\\u(?>[0-9a-fA-F]{4}|[0-9a-fA-F]{0,3}.)|\\.)*"')


def json_spans(text: str) -> Spans:
    """Comment spans (half-open) of preprocessed JSON ``text``."""
    spans: Spans = []
    n = len(text)
    la = Lookahead(text)
    pos = 0
    while pos < n:
        m = _EVENT.search(text, pos)
        if m is None:
            break
        s = m.start()
        if text[s] == '"':
            e = _STRING.match(text, s)
            if e is None:
                break  # unterminated: an error token to the end
            pos = e.end()
            continue
        nxt = text[s + 1 : s + 2]
        if nxt == "/":
            e = text.find("\n", s + 2)
            end = n if e < 0 else e
            spans.append((s, end))
            pos = end
        elif nxt == "*":
            e = la.find("*/", s + 2)
            if e < 0:
                break  # unterminated: an error token to the end
            spans.append((s, e + 2))
            pos = e + 2
        else:
            pos = s + 1
    return spans
