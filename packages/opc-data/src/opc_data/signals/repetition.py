"""Word n-gram repetition signals shared by the code (``qsc_code_*``) and text (``qsc_doc_*``) families.

    Document.normalized_words ──▶ top_ngram_fractions (2,3,4) / dupe_ngram_fractions (5..10) ──▶ signals

Definitions (RedPajama-V2, as the OpenCoder reference uses them):

* top n-gram fraction: the most frequent word n-gram (ties: the one seen first), if it occurs at least
  twice, times its occurrence count, in characters, over all word characters: ``len(ngram) * count / total``.
* dupe n-gram fraction: characters of words covered by any n-gram that occurs at least twice (each
  word counted once) over all word characters.

Speed: an n-gram can occur twice only if both of its (n-1)-grams do, so each n only counts n-grams at
positions whose (n-1)-grams were duplicated (ids and counts in numpy). Every occurrence of a duplicated n-gram survives this
pruning, so counts, first-occurrence order (ties) and the covered characters are exactly those of the
plain computation.

What it does NOT do: tokenise (``Document`` does) or round (callers round to 8 digits as the reference).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["ngram_repetition"]


def ngram_repetition(
    words: Sequence[str],
    lengths: Sequence[int],
    top_ns: Sequence[int] = (2, 3, 4),
    dupe_ns: Sequence[int] = range(5, 11),
) -> tuple[dict[int, float], dict[int, float]]:
    """({n: top n-gram fraction}, {n: dupe n-gram fraction}), unrounded.

    Each n-gram gets an integer id: the id of its (n-1)-gram prefix combined with the id of its last
    word, re-numbered by ``np.unique`` at every level, so counting never hashes word tuples.
    """
    num = len(words)
    top: dict[int, float] = {n: 0.0 for n in top_ns}
    dupe: dict[int, float] = {n: 0.0 for n in dupe_ns}
    max_n = max([*top_ns, *dupe_ns], default=1)
    if num < 2:
        return top, dupe
    index: dict[str, int] = dict.fromkeys(words, 0)
    for i, w in enumerate(index):
        index[w] = i
    ids = np.fromiter(map(index.__getitem__, words), dtype=np.int64, count=num)
    lens = np.asarray(lengths, dtype=np.int64)
    total = int(lens.sum())
    if total == 0:
        return top, dupe
    prefix = np.zeros(num + 1, dtype=np.int64)
    np.cumsum(lens, out=prefix[1:])
    vocab = len(index)

    counts1 = np.bincount(ids, minlength=vocab)
    dup = counts1[ids] > 1  # dup[i]: the (n-1)-gram starting at i occurs at least twice
    gid = ids  # id of the (n-1)-gram starting at i (valid where dup[i])
    for n in range(2, max_n + 1):
        limit = num - n + 1
        if limit <= 0:
            break
        cand = np.flatnonzero(dup[:limit] & dup[1 : limit + 1])
        if cand.size == 0:
            break
        keys = gid[cand] * vocab + ids[cand + (n - 1)]
        _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        per_position = counts[inverse]
        is_dup = per_position > 1
        starts = cand[is_dup]
        if n in top:
            best = int(counts.max())
            if best > 1:
                # the most frequent n-gram; ties: the one seen first (Counter.most_common(1)); cand is
                # ascending, so the first position holding a most frequent n-gram is its first occurrence
                pos = int(cand[np.argmax(per_position == best)])
                top[n] = int(prefix[pos + n] - prefix[pos]) * best / total
        if n in dupe and starts.size:
            cover = np.zeros(num + 1, dtype=np.int64)
            cover[starts] += 1
            cover[starts + n] -= 1
            mask = np.cumsum(cover[:num]) > 0
            dupe[n] = int(lens[mask].sum()) / total
        if starts.size == 0:
            break
        dup = np.zeros(num, dtype=bool)
        dup[starts] = True
        gid = np.zeros(num, dtype=np.int64)
        gid[cand] = inverse
    return top, dupe
