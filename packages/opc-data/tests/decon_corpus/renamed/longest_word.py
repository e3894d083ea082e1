from typing import List, Optional


def pick_longest(words: List[str]) -> Optional[str]:
    if not words:
        return None

    best = max(len(w) for w in words)
    for item in words:
        if len(item) == best:
            return item


def longest_line(path):
    with open(path) as fh:
        return pick_longest(fh.read().splitlines())
