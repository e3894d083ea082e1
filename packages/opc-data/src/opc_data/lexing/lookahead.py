"""Memoised forward searches that keep the comment scanners linear on unterminated constructs.

A scanner that meets an opener (``/*``, a quote, ``<!--``) searches forward for its closer. When the
closer is missing, every later opener of the same kind would search to the end of the file again, and
a file full of unmatched openers would cost O(n^2) (Pygments has exactly this behaviour). ``Lookahead``
remembers, per needle or pattern, the last answer and from where it was asked: the first occurrence at
or after ``pos`` is the remembered one whenever ``pos`` lies between the remembered start and hit, and
"none after start" stays true for every later ``pos``.

What it does NOT do: overlapping-match bookkeeping for patterns whose match depends on where the search
starts in other ways than "first match at or after pos" (use it only for such searches).
"""

from __future__ import annotations

import re

__all__ = ["Lookahead"]


class Lookahead:
    """``find``/``search`` over one text with the answers reused across calls."""

    def __init__(self, text: str, end: int | None = None) -> None:
        self.text = text
        self.end = len(text) if end is None else end
        self._found: dict[object, tuple[int, int, re.Match[str] | None]] = {}

    def find(self, needle: str, pos: int) -> int:
        """``text.find(needle, pos, end)``."""
        memo = self._found.get(needle)
        if memo is not None:
            start, hit, _ = memo
            if start <= pos and (hit == -1 or hit >= pos):
                return hit
        hit = self.text.find(needle, pos, self.end)
        self._found[needle] = (pos, hit, None)
        return hit

    def search(self, pattern: re.Pattern[str], pos: int) -> re.Match[str] | None:
        """``pattern.search(text, pos, end)`` for patterns whose first match does not depend on text
        before ``pos`` (no lookbehind, no anchors)."""
        memo = self._found.get(pattern)
        if memo is not None:
            start, hit, m = memo
            if start <= pos and (hit == -1 or hit >= pos):
                return m
        m = pattern.search(self.text, pos, self.end)
        self._found[pattern] = (pos, -1 if m is None else m.start(), m)
        return m
