"""Word n-gram repetition signals shared by the code (``qsc_code_*``) and text (``qsc_doc_*``) families.

    Document.normalized_words ──▶ top_ngram_fractions (2,3,4) / dupe_ngram_fractions (5..10) ──▶ signals

Definitions (RedPajama-V2, as the OpenCoder reference uses them):

* top n-gram fraction: the most frequent word n-gram (ties: the one seen first), if it occurs at least
  twice, times its occurrence count, in characters, over all word characters: ``len(ngram) * count / total``.
* dupe n-gram fraction: characters of words covered by any n-gram that occurs at least twice (each
  word counted once) over all word characters.

Speed: an n-gram can occur twice only if both of its (n-1)-grams do, so each n only counts n-grams at
positions whose (n-1)-grams were duplicated. Every occurrence of a duplicated n-gram survives this
pruning, so counts, first-occurrence order (ties) and the covered characters are exactly those of the
plain computation.

What it does NOT do: tokenise (``Document`` does) or round (callers round to 8 digits as the reference).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

__all__ = ["ngram_repetition"]


def ngram_repetition(
    words: Sequence[str],
    lengths: Sequence[int],
    top_ns: Sequence[int] = (2, 3, 4),
    dupe_ns: Sequence[int] = range(5, 11),
) -> tuple[dict[int, float], dict[int, float]]:
    """({n: top n-gram fraction}, {n: dupe n-gram fraction}), unrounded."""
    num = len(words)
    total = sum(lengths)
    top: dict[int, float] = {n: 0.0 for n in top_ns}
    dupe: dict[int, float] = {n: 0.0 for n in dupe_ns}
    max_n = max([*top_ns, *dupe_ns], default=1)
    if num < 2 or total == 0:
        return top, dupe
    prefix = [0]
    acc = 0
    for ln in lengths:
        acc += ln
        prefix.append(acc)

    counts1 = Counter(words)
    # dup[i] for the current n: the n-gram starting at i occurs at least twice
    dup = [counts1[w] > 1 for w in words]
    for n in range(2, max_n + 1):
        limit = num - n + 1
        if limit <= 0:
            break
        # candidate starts: both (n-1)-grams inside the n-gram are duplicated
        cand = [i for i in range(limit) if dup[i] and dup[i + 1]]
        if not cand:
            break
        if n == 2:
            grams = [(words[i], words[i + 1]) for i in cand]
        else:
            grams = [tuple(words[i : i + n]) for i in cand]
        cnt = Counter(grams)
        new_dup = [False] * (num - n + 1)
        starts = []
        for i, g in zip(cand, grams, strict=True):
            if cnt[g] > 1:
                new_dup[i] = True
                starts.append(i)
        dup = new_dup
        if n in top:
            best_g, best_c = None, 1
            for g, c in cnt.items():  # insertion order = first occurrence, as Counter.most_common(1)
                if c > best_c:
                    best_g, best_c = g, c
            if best_g is not None:
                top[n] = sum(len(w) for w in best_g) * best_c / total
        if n in dupe and starts:
            covered = 0
            cur_s, cur_e = starts[0], starts[0] + n
            for s in starts[1:]:
                if s <= cur_e:
                    cur_e = s + n
                else:
                    covered += prefix[cur_e] - prefix[cur_s]
                    cur_s, cur_e = s, s + n
            covered += prefix[cur_e] - prefix[cur_s]
            dupe[n] = covered / total
        if not starts:
            break
    return top, dupe
