"""Fuzzy dedup: LSH buckets -> verified, chain-free removals under the keep rule.

Where it sits: ``dedup.deduplicate`` feeds it one *unit* per distinct content (file level, the
default) or per repository (repo level, for ablation), each with its MinHash band keys
(``minhash`` + ``lsh``) and its keep-rule rank (``exact_dedup.keep_rank``).

The resolution, and why it cannot chain:

1. Buckets: units whose keys are equal in some band share a bucket (``buckets_from_keys``: one
   sort per band over an ``int64[n_units, bands]`` matrix, so the index is 8 bytes x bands per unit,
   with no per-unit Python objects). A pair of units sharing a bucket is an *LSH candidate pair*.
2. Greedy in keep-rule order: walk the units that sit in a bucket, best rank first. A unit that has
   not been removed when its turn comes is KEPT (nothing better removed it). It then checks each
   candidate partner ranked below it that is still present: with verification on, the pair's true
   Jaccard over the shingle sets must reach ``threshold`` to remove the partner, which then points
   at this kept unit with that Jaccard; a failed check is a *verification rejection* and the partner
   stays in play (a later kept unit may still remove it, or it becomes a keeper itself).
3. Hence every removed unit points at a unit that is kept, was compared to it directly, and the
   keeper is the best-ranked kept candidate partner that verified -- no chains through removed
   records, and nothing is removed on LSH evidence alone. The decisions depend only on the units'
   keys, ranks and sets, never on input order.

With verification off, step 2 removes every present lower-ranked partner of a keeper without a
check (``jaccard`` is then None): the paper's behaviour, kept for ablation.

Cost: each kept unit scans its buckets; a bucket of m near-copies costs O(m) checks (the first
keeper removes them). Only a bucket of m mutually dissimilar units would cost O(m^2); with
128-row bands that needs 128 equal minima between dissimilar sets, which the S-curve puts at ~0.

What it does NOT do: no shingling or hashing (``shingles``/``minhash``), no exact dedup, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from opc_data.shingles import jaccard


@dataclass
class FuzzyOutcome:
    """What resolution decided: ``removed[unit] = (kept_unit, jaccard or None)``, plus counters."""

    removed: dict[int, tuple[int, float | None]] = field(default_factory=dict)
    candidate_units: int = 0
    buckets: int = 0
    checked_pairs: int = 0
    rejected_pairs: int = 0


def buckets_from_keys(keys: np.ndarray, unit_ids: np.ndarray | None = None) -> list[np.ndarray]:
    """Groups of 2+ unit ids with an equal key in some band (``keys``: int64[n_units, bands])."""
    keys = np.asarray(keys, dtype=np.int64)
    if keys.ndim != 2:
        raise ValueError(f"band keys must be a [units, bands] matrix, got shape {keys.shape}")
    ids = np.arange(keys.shape[0]) if unit_ids is None else np.asarray(unit_ids)
    out: list[np.ndarray] = []
    if keys.shape[0] < 2:
        return out
    for band in range(keys.shape[1]):
        col = keys[:, band]
        order = np.argsort(col, kind="stable")
        sorted_keys = col[order]
        boundaries = np.flatnonzero(np.diff(sorted_keys)) + 1
        starts = np.concatenate(([0], boundaries))
        ends = np.concatenate((boundaries, [sorted_keys.size]))
        big = ends - starts >= 2
        for s, e in zip(starts[big], ends[big], strict=True):
            out.append(ids[order[s:e]])
    return out


def resolve(
    buckets: Sequence[np.ndarray | Sequence[int]],
    rank: Callable[[int], tuple],
    shingle_set: Callable[[int], np.ndarray] | None,
    threshold: float,
) -> FuzzyOutcome:
    """Greedy keep-rule resolution of LSH buckets (module doc); ``shingle_set=None`` skips verification."""
    outcome = FuzzyOutcome(buckets=len(buckets))
    member_of: dict[int, list[int]] = {}
    for b, bucket in enumerate(buckets):
        for unit in bucket:
            member_of.setdefault(int(unit), []).append(b)
    outcome.candidate_units = len(member_of)
    ranks = {unit: rank(unit) for unit in member_of}
    order = sorted(member_of, key=lambda u: (ranks[u], u))
    removed = outcome.removed
    for keeper in order:
        if keeper in removed:
            continue
        keeper_rank = ranks[keeper]
        keeper_set = None
        seen: set[int] = {keeper}
        for b in member_of[keeper]:
            for partner in buckets[b]:
                partner = int(partner)
                if partner in seen:
                    continue
                seen.add(partner)
                if partner in removed or (ranks[partner], partner) < (keeper_rank, keeper):
                    continue
                if shingle_set is None:
                    removed[partner] = (keeper, None)
                    continue
                if keeper_set is None:
                    keeper_set = shingle_set(keeper)
                outcome.checked_pairs += 1
                sim = jaccard(keeper_set, shingle_set(partner))
                if sim >= threshold:
                    removed[partner] = (keeper, sim)
                else:
                    outcome.rejected_pairs += 1
    return outcome
