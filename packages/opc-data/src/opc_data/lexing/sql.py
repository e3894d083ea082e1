"""Comment spans of SQL as Pygments' SqlLexer (2.18, ANSI SQL) classifies them.

Comments: ``--`` through the end of the line including the newline, and ``/* */`` block comments,
which nest and, unterminated, run to the end of the file. Skipped as code: ``'...'`` strings and
``"..."`` identifiers (doubled quotes escape; both may span lines; an unterminated quote is a stray
character).

What it does NOT do: dialect syntax Pygments' ANSI lexer does not know (``$$`` bodies, backslash
escapes, ``#`` comments of MySQL): those are lexed as the reference lexed them, i.e. as ANSI SQL.
"""

from __future__ import annotations

import re

from opc_data.lexing.events import Hook, Scan, scan_events

__all__ = ["sql_spans"]

Spans = list[tuple[int, int]]

_EVENT = re.compile(r"(?P<lc>--)|(?P<bc>/\*)|(?P<sq>')|(?P<dq>\")")
_BLOCK_EVENT = re.compile(r"/\*|\*/")


_RUNS = {"'": re.compile("'+"), '"': re.compile('"+')}


def _quoted_end(text: str, start: int, quote: str) -> int:
    """End of Pygments' ``'(''|[^'])*'`` match at ``start`` (backtracking semantics), or start + 1.

    The body may hold only even runs of quotes; the regex is greedy, so the string closes at the last
    quote of the first odd run, or, when every later run is even, at the first quote of the last pair.
    """
    last_pair_end = -1
    for run in _RUNS[quote].finditer(text, start + 1):
        if (run.end() - run.start()) % 2:
            return run.end()
        last_pair_end = run.end() - 1
    return last_pair_end if last_pair_end > 0 else start + 1


def _line_comment(scan: Scan, m: re.Match[str]) -> int:
    s = m.start()
    e = scan.text.find("\n", s)
    end = scan.n if e < 0 else e + 1
    scan.spans.append((s, end))
    return end


def _block_comment(scan: Scan, m: re.Match[str]) -> int:
    depth = 1
    p = m.end()
    while depth:
        b = _BLOCK_EVENT.search(scan.text, p)
        if b is None:
            p = scan.n
            break
        depth += 1 if b.group() == "/*" else -1
        p = b.end()
    scan.spans.append((m.start(), p))
    return p


_HOOKS: dict[str, Hook] = {
    "lc": _line_comment, "bc": _block_comment,
    "sq": lambda scan, m: _quoted_end(scan.text, m.start(), "'"),
    "dq": lambda scan, m: _quoted_end(scan.text, m.start(), '"'),
}


def sql_spans(text: str) -> Spans:
    """Comment spans (half-open) of preprocessed SQL ``text``."""
    return scan_events(text, _EVENT, _HOOKS)
