"""Dedup quality on the dev corpus against brute-force true Jaccard (the issue's acceptance test).

Ground truth does not use our hashing: shingle sets are built from ``str.split()`` 5-gram tuples and
Python's own tuple hash. Pairs with Jaccard >= 0.99 are found exactly, but affordably, by prefix
filtering (Bayardo et al., "Scaling up all pairs similarity search"): under any global order of
shingles, two sets with Jaccard >= t share an element among the first |X| - ceil(t|X|) + 1 elements
of each; so only pairs meeting in those prefixes need a Jaccard, and no qualifying pair is missed.
A self-check compares the prefix filter with all-pairs on a slice of the corpus.
"""

from __future__ import annotations

import gzip
import json
import math
from collections import defaultdict

import numpy as np
import pytest

from opc_data.dedup import DedupConfig, deduplicate
from opc_data.shingles import shingle_tuples

RECALL_JACCARD = 0.99


def true_set(text: str) -> np.ndarray:
    return np.unique(np.fromiter((hash(s) for s in shingle_tuples(text)), dtype=np.int64))


def true_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    inter = np.intersect1d(a, b, assume_unique=True).size
    return inter / (a.size + b.size - inter)


def pairs_at_least(sets: dict[int, np.ndarray], t: float) -> dict[tuple[int, int], float]:
    """Every pair with Jaccard >= t (prefix filtering + size filter + exact Jaccard)."""
    index: dict[int, list[int]] = defaultdict(list)
    for i, s in sets.items():
        for x in s[: s.size - math.ceil(t * s.size) + 1]:
            index[int(x)].append(i)
    candidates = {
        (a, b) if a < b else (b, a) for ids in index.values() for n, a in enumerate(ids) for b in ids[n + 1 :]
    }
    out = {}
    for a, b in candidates:
        small, big = sorted((sets[a].size, sets[b].size))
        if small >= t * big and (j := true_jaccard(sets[a], sets[b])) >= t:
            out[(a, b)] = j
    return out


@pytest.fixture(scope="module")
def corpus(shared_dir):
    with gzip.open(shared_dir / "data/raw_code/dev.jsonl.gz", "rt", encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh]
    sets = {
        i: true_set(r["content"])
        for i, r in enumerate(records)
        if not r["is_binary"] and r["content"].split()
    }
    return records, sets, deduplicate(records, DedupConfig())


def test_prefix_filter_finds_the_same_pairs_as_all_pairs(corpus):
    _, sets, _ = corpus
    part = dict(list(sets.items())[:400])
    keys = sorted(part)
    brute = {}
    for n, a in enumerate(keys):
        for b in keys[n + 1 :]:
            if (j := true_jaccard(part[a], part[b])) >= 0.9:
                brute[(a, b)] = j
    assert brute and pairs_at_least(part, 0.9) == brute


def test_every_removal_is_verified_against_a_kept_copy(corpus):
    records, sets, result = corpus
    where = {(r["repo_name"], r["path"]): i for i, r in enumerate(records)}
    fuzzy = 0
    for i, row in enumerate(result.rows):
        if row["keep"]:
            continue
        target = where[(row["duplicate_of_repo_name"], row["duplicate_of_path"])]
        assert result.rows[target]["keep"], f"{row['path']} points at a removed record"
        if row["dup_kind"] == "exact":
            assert records[i]["content"] == records[target]["content"]
        else:
            assert row["dup_kind"] == "fuzzy"
            fuzzy += 1
            j = true_jaccard(sets[i], sets[target])
            assert j >= DedupConfig().verify_threshold, f"{row['path']}: Jaccard {j:.3f} to its kept copy"
            assert row["dup_jaccard"] == pytest.approx(j, abs=1e-9)
    assert fuzzy == result.stats["fuzzy_removed"] > 0


def test_recall_of_pairs_with_jaccard_at_least_099(corpus):
    records, sets, result = corpus
    pairs = pairs_at_least(sets, RECALL_JACCARD)
    keep = [row["keep"] for row in result.rows]
    caught = [p for p in pairs if not (keep[p[0]] and keep[p[1]])]
    near = [p for p in pairs if records[p[0]]["content"] != records[p[1]]["content"]]
    near_caught = [p for p in near if not (keep[p[0]] and keep[p[1]])]
    print(
        f"pairs J>=0.99: {len(pairs)}, caught {len(caught)}; non-identical {len(near)}, caught {len(near_caught)}"
    )
    assert len(near) >= 10  # the corpus does hold near-copies that only fuzzy dedup can catch
    assert len(caught) >= 0.95 * len(pairs)
    assert len(near_caught) >= 0.95 * len(near)
