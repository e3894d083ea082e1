"""Comment spans of HTML as Pygments' HtmlLexer (2.18) classifies them.

Comments are ``<!-- ... -->`` and the JavaScript comments inside ``<script>`` elements (Pygments lexes
script content with its JavaScript lexer, see ``opc_data.lexing.javascript``). CSS comments inside
``<style>`` are of Pygments' plain Comment type, which the reference counts as code, so style content
contributes no comment. ``<![CDATA[...]]>``, ``<?...?>`` and ``<!...>`` declarations are code. A
``<script>`` without a closing tag is JavaScript only up to the end of its line (Pygments' fallback).

What it does NOT do: parse HTML (the HTML signals use ``opc_data.signals.lang_html``'s tree builder).
"""

from __future__ import annotations

import re

from opc_data.lexing.javascript import javascript_spans
from opc_data.lexing.lookahead import Lookahead

__all__ = ["html_spans"]

Spans = list[tuple[int, int]]

# Markup openers that need no search to the end of the file (those are handled with Lookahead).
_LT = re.compile(r"(?si)(?P<script><\s*script\s*)|(?P<style><\s*style\s*)|(?P<open><\s*[\w:.-]+)|(?P<close><\s*/\s*[\w:.-]+\s*>)")
# Inside a start tag: whitespace, attr=value, bare attribute names, the closing '>' (or '/>').
_TAG_ITEM = re.compile(r"""(?s)\s+|[\w:-]+\s*=\s*(?:".*?"|'.*?'|[^\s>]+)?|[\w:-]+|(?P<end>/?\s*>)""")
_END_SCRIPT = re.compile(r"(?i)<\s*/\s*script\s*>")
_END_STYLE = re.compile(r"(?i)<\s*/\s*style\s*>")


def _skip_tag(text: str, pos: int) -> int:
    """Position after the start tag whose name ends at ``pos`` (Pygments' 'tag' state)."""
    n = len(text)
    while pos < n:
        m = _TAG_ITEM.match(text, pos)
        if m is None:
            pos += 1  # a character the tag state does not know: an error token, still in the tag
            continue
        pos = m.end()
        if m.group("end") is not None:
            return pos
    return n


def html_spans(text: str) -> Spans:
    """Comment spans (half-open) of preprocessed HTML ``text``."""
    spans: Spans = []
    n = len(text)
    la = Lookahead(text)
    pos = 0
    while pos < n:
        lt = text.find("<", pos)
        if lt < 0:
            break
        # Pygments' order: CDATA, comment, processing instruction, declaration, then tags
        if text[lt + 1 : lt + 9].upper() == "![CDATA[":
            e = la.find("]]>", lt + 9)
            if e >= 0:
                pos = e + 3
                continue
        if text.startswith("<!--", lt):
            e = la.find("-->", lt + 4)
            if e >= 0:
                spans.append((lt, e + 3))
                pos = e + 3
                continue
        if text.startswith("<?", lt):
            e = la.find("?>", lt + 2)
            if e >= 0:
                pos = e + 2
                continue
        if text.startswith("<!", lt):
            e = la.find(">", lt + 2)
            if e >= 0:
                pos = e + 1
                continue
        m = _LT.match(text, lt)
        if m is None:
            pos = lt + 1
            continue
        k = m.lastgroup
        if k in ("script", "style"):
            body = _skip_tag(text, m.end())
            close = la.search(_END_SCRIPT if k == "script" else _END_STYLE, body)
            if close is not None:
                stop, pos = close.start(), close.end()
            else:  # no closing tag: content up to the end of the line, then back to HTML
                nl = text.find("\n", body + 1)
                stop = pos = n if nl < 0 else nl + 1
            if k == "script" and stop > body:
                spans.extend(javascript_spans(text, body, stop))
        elif k == "open":
            pos = _skip_tag(text, m.end())
        else:
            pos = m.end()
    return spans
