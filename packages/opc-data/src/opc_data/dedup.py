"""Dedup orchestration: ``deduplicate(records, DedupConfig) -> DedupResult``, exact then fuzzy.

Where it sits: the data stage's dedup step and ``opc data dedup`` (both wired by the pipeline).
Every input record gets one row: kept, or removed with a pointer to the KEPT record it duplicates.

    records ──► pass 1 (stream) ──────────────────────────────────────────────┐
                 per record: sha256, keep rank, (repo, path, blob_id)          │ kept in memory:
                 per distinct content: shingles -> MinHash -> 16 band keys     │ metadata + keys
                                                                               ▼
                 exact groups (sha256) ──► fuzzy units ──► LSH buckets ──► greedy verified resolve
                                                                               │ needs shingle sets
    records ──► pass 2 (only if re-iterable): shingle sets of bucketed units ◄─┘ of bucketed units
                                                                               ▼
                                        rows: keep / exact / fuzzy, duplicate_of, dup_jaccard, cluster

Units. At file level (default) a fuzzy unit is one distinct content (an exact group), ranked by its
exact keeper; at repo level (``level: repo``, ablation) a unit is a repository: its signature is the
element-wise min of its files' signatures (= MinHash of the union of their shingles), its set the
union of their sets, its rank the best of its files' ranks without the path.

Decisions, and how "no chains" holds across exact and fuzzy:

* file level: the exact keeper of a group is its best-ranked record; a group whose unit is removed
  by fuzzy dedup has ALL its records (the exact keeper included) point at the exact keeper of the
  kept unit, ``dup_kind = fuzzy`` with that unit pair's verified Jaccard (identical content has
  identical shingles, so the Jaccard holds for every copy).
* repo level: fuzzy runs first on repositories; exact keepers are then chosen preferring records of
  kept repositories, so a copy inside a removed repository points at a surviving identical copy
  (``exact``) when there is one; otherwise it points at the kept repository
  (``duplicate_of_path`` = the same path there if it exists, else null) with the repos' Jaccard.
* records with no token (empty, whitespace-only, binary) take part in exact dedup only.

Memory. Only the index grows with the corpus: per record (repo, path, blob_id, 32-byte digest,
rank), per unit 8 bytes x bands of keys. Shingle sets are needed only for units that share a
bucket. If ``records`` can be iterated twice (a list, or any re-iterable such as a shard reader
object), they are recomputed in a second pass for exactly those units; if it is a one-shot iterator,
every unit's set (8 bytes per distinct shingle) is held from pass 1 -- pass a re-iterable for large
corpora. With verification off, no set is ever held.

For the Spark engine (same decisions from the same functions): per record, in partitions --
``exact_key(record, position)`` and ``keep_rank(record, key.hex())`` (``exact_dedup``),
``record_band_keys(record, config)``; then a groupBy on the exact key (min rank = keeper), one on
(band index, band key) for the exact keepers (groups of 2+ are the buckets), ``record_shingles`` for
the bucketed units only (a join back to the content), and ``fuzzy_dedup.resolve(buckets, rank,
shingle_set, threshold)`` on the (small) candidate graph; rows as in ``_decide``.

What it does NOT do: no reading or writing of files (the pipeline's job), no filtering.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from opc_data import lsh
from opc_data.exact_dedup import content_unread, exact_key, keep_rank
from opc_data.fuzzy_dedup import buckets_from_keys, resolve
from opc_data.minhash import signature
from opc_data.shingles import shingle_hashes

log = logging.getLogger("opc.data.dedup")

ROW_COLUMNS = (
    "repo_name",
    "path",
    "blob_id",
    "keep",
    "duplicate_of_repo_name",
    "duplicate_of_path",
    "dup_kind",
    "dup_jaccard",
    "cluster_id",
)


class DedupConfig(BaseModel):
    """Exact + fuzzy dedup settings; defaults are OpenCoder's (file level, 2048 perms, 16 x 128)."""

    model_config = ConfigDict(extra="forbid")

    exact: bool = True
    fuzzy: bool = True
    level: Literal["file", "repo"] = "file"
    shingle_size: int = Field(5, ge=1, description="tokens per shingle")
    num_perm: int = Field(2048, ge=1, description="MinHash permutations")
    seed: int = Field(1, ge=0, description="seed of the permutations (datasketch's RandomState draw)")
    bands: int | None = Field(None, ge=1, description="LSH bands; default 16 unless lsh_threshold is set")
    rows: int | None = Field(None, ge=1, description="rows per band; default 128 unless lsh_threshold is set")
    lsh_threshold: float | None = Field(
        None, gt=0.0, lt=1.0, description="derive bands/rows for this Jaccard"
    )
    false_positive_weight: float = Field(0.5, ge=0.0)
    false_negative_weight: float = Field(0.5, ge=0.0)
    verify: bool = Field(True, description="check every LSH candidate by true Jaccard before removing")
    verify_threshold: float = Field(0.8, gt=0.0, le=1.0, description="Jaccard a fuzzy removal needs")
    s_curve_points: int = Field(21, ge=2)

    @model_validator(mode="after")
    def _check_lsh(self) -> DedupConfig:
        if self.lsh_threshold is not None and (self.bands is not None or self.rows is not None):
            raise ValueError("give either lsh_threshold or bands/rows, not both")
        if (self.bands is None) != (self.rows is None):
            raise ValueError("give both bands and rows (or neither)")
        bands, rows = self.lsh_params()
        if bands * rows > self.num_perm:
            raise ValueError(f"bands x rows = {bands * rows} exceeds num_perm = {self.num_perm}")
        return self

    def lsh_params(self) -> tuple[int, int]:
        """(bands, rows): as given, derived from ``lsh_threshold``, or OpenCoder's 16 x 128."""
        if self.lsh_threshold is not None:
            return lsh.optimal_params(
                self.lsh_threshold, self.num_perm, self.false_positive_weight, self.false_negative_weight
            )
        if self.bands is not None and self.rows is not None:
            return self.bands, self.rows
        return lsh.DEFAULT_BANDS, lsh.DEFAULT_ROWS


@dataclass
class DedupResult:
    """One row per input record (input order, columns ``ROW_COLUMNS``) and the run's statistics."""

    rows: list[dict[str, Any]]
    stats: dict[str, Any] = field(default_factory=dict)


# --- pure per-record functions (the Spark engine calls these inside partitions) ---------------------


def record_has_tokens(record: Mapping[str, Any]) -> bool:
    """False for binary records and text without a token: they take part in exact dedup only."""
    content = record.get("content")
    return not record.get("is_binary") and isinstance(content, str) and bool(content.split())


def _no_text(record: Mapping[str, Any]) -> bool:
    return (
        bool(record.get("is_binary")) or not isinstance(record.get("content"), str) or content_unread(record)
    )


def record_shingles(record: Mapping[str, Any], config: DedupConfig) -> np.ndarray:
    """Sorted distinct shingle hashes of a record (empty for binary / token-less records)."""
    if _no_text(record):
        return np.empty(0, dtype=np.uint64)
    return shingle_hashes(record["content"], config.shingle_size)


def record_signature(record: Mapping[str, Any], config: DedupConfig) -> np.ndarray | None:
    """MinHash signature of a record, or None when it has no shingle."""
    hashes = record_shingles(record, config)
    return signature(hashes, config.num_perm, config.seed) if hashes.size else None


def record_band_keys(record: Mapping[str, Any], config: DedupConfig) -> list[int] | None:
    """The record's LSH band keys (int64 each), or None when it has no shingle."""
    sig = record_signature(record, config)
    if sig is None:
        return None
    bands, rows = config.lsh_params()
    return lsh.band_keys(sig, bands, rows)


def cluster_id(repo_name: str, path: str) -> str:
    """Stable id of the cluster a kept record heads: 16 hex chars of SHA-1 over (repo_name, path)."""
    return hashlib.sha1(f"{repo_name}\0{path}".encode("utf-8", "surrogatepass")).hexdigest()[:16]


# --- orchestration -----------------------------------------------------------------------------------


@dataclass
class _Meta:
    repo_name: str
    path: str
    blob_id: Any
    digest: bytes
    rank: tuple


def _digest(rec: Mapping[str, Any], index: int, config: DedupConfig) -> bytes:
    """The exact-group key: SHA-256 of the content, or the record's position when exact dedup is off."""
    if config.exact:
        return exact_key(rec, index)
    return b"#" + index.to_bytes(8, "little")


def _is_reiterable(records: Iterable) -> bool:
    try:
        return iter(records) is not records
    except TypeError:
        return False


def deduplicate(records: Iterable[Mapping[str, Any]], config: DedupConfig | None = None, *,
                with_keys: bool = False) -> DedupResult:
    """Exact + fuzzy dedup of ``records`` (dicts with repo_name, path, content, blob_id, stars,
    commit_date, is_binary); see the module doc for the decisions and the memory model.

    A re-iterable ``records`` must yield the same records in the same order each time it is iterated.
    ``with_keys``: each row also carries ``digest`` (``exact_key`` of the record, whatever ``exact`` says)
    and ``band_keys`` (its LSH band keys as ints; None when token-less, fuzzy is off or at repo level):
    what the data stage's dedup index keeps, without a second MinHash pass.
    """
    config = config or DedupConfig()
    bands, band_rows = config.lsh_params()
    repo_level = config.level == "repo"
    two_pass = _is_reiterable(records)
    if config.fuzzy:
        lsh.log_s_curve(bands, band_rows)

    metas: list[_Meta] = []
    unit_of_digest: dict[bytes, int] = {}  # file level: distinct content -> unit id
    unit_of_repo: dict[str, int] = {}  # repo level: repository -> unit id
    unit_keys: list[np.ndarray | None] = []  # file level: band keys per unit (None: no token)
    repo_sigs: dict[int, np.ndarray] = {}  # repo level: running min signature per unit
    sets_in_memory: dict[int, np.ndarray] = {}
    repo_parts: dict[
        int, list[np.ndarray]
    ] = {}  # repo level, one-pass input: file sets, merged once at the end
    token_less = 0
    exact_digests: list[bytes] = []  # with_keys: exact_key per record

    for index, rec in enumerate(records):
        repo_name, path = str(rec.get("repo_name") or ""), str(rec.get("path") or "")
        digest = _digest(rec, index, config)
        rank = keep_rank(rec, digest.hex())
        metas.append(_Meta(repo_name, path, rec.get("blob_id"), digest, rank))
        if with_keys:
            exact_digests.append(digest if config.exact else exact_key(rec, index))
        if not config.fuzzy:
            continue
        if repo_level:
            unit = unit_of_repo.setdefault(repo_name, len(unit_of_repo))
            hashes = record_shingles(rec, config)
            if hashes.size == 0:
                token_less += 1
                continue
            sig = signature(hashes, config.num_perm, config.seed)
            repo_sigs[unit] = np.minimum(repo_sigs[unit], sig) if unit in repo_sigs else sig
            if config.verify and not two_pass:
                repo_parts.setdefault(unit, []).append(hashes)
            continue
        if digest in unit_of_digest:
            if unit_keys[unit_of_digest[digest]] is None:
                token_less += 1
            continue
        unit = unit_of_digest[digest] = len(unit_keys)
        hashes = record_shingles(rec, config)
        if hashes.size == 0:
            unit_keys.append(None)
            token_less += 1
            continue
        unit_keys.append(
            np.array(lsh.band_keys(signature(hashes, config.num_perm, config.seed), bands, band_rows))
        )
        if config.verify and not two_pass:
            sets_in_memory[unit] = hashes

    # exact groups: the best rank per digest (file level now; repo level after fuzzy, see below)
    group_members: dict[bytes, list[int]] = {}
    for i, meta in enumerate(metas):
        group_members.setdefault(meta.digest, []).append(i)

    def best(indices: list[int], demote: set[int] | None = None) -> int:
        return min(indices, key=lambda i: (i in demote if demote else False, metas[i].rank, i))

    exact_keeper = {d: best(m) for d, m in group_members.items()}

    # fuzzy units, their ranks, and buckets
    outcome = None
    unit_rank: dict[int, tuple] = {}
    unit_ids: list[int] = []
    keys_rows: list[np.ndarray] = []
    if config.fuzzy:
        if repo_level:
            for meta in metas:
                unit = unit_of_repo[meta.repo_name]
                r = meta.rank[:5]
                if unit not in unit_rank or r < unit_rank[unit]:
                    unit_rank[unit] = r
            for unit, sig in sorted(repo_sigs.items()):
                unit_ids.append(unit)
                keys_rows.append(np.array(lsh.band_keys(sig, bands, band_rows)))
        else:
            for digest, unit in unit_of_digest.items():
                unit_rank[unit] = metas[exact_keeper[digest]].rank
                if unit_keys[unit] is not None:
                    unit_ids.append(unit)
                    keys_rows.append(unit_keys[unit])
        buckets = buckets_from_keys(np.vstack(keys_rows), np.array(unit_ids)) if len(keys_rows) >= 2 else []
        needed = {int(u) for b in buckets for u in b}
        sets_in_memory.update(_merge_parts(repo_parts, needed))
        shingle_set = None
        if config.verify:
            if two_pass:
                sets_in_memory = _reread_sets(records, config, needed, unit_of_digest, unit_of_repo)
            shingle_set = sets_in_memory.__getitem__
        outcome = resolve(buckets, unit_rank.__getitem__, shingle_set, config.verify_threshold)
        log.info(
            "fuzzy dedup: %d units in %d LSH buckets, %d pairs verified, %d rejected, %d units removed",
            outcome.candidate_units,
            outcome.buckets,
            outcome.checked_pairs,
            outcome.rejected_pairs,
            len(outcome.removed),
        )

    removed_units = outcome.removed if outcome else {}
    rows_out, stats = _decide(
        metas, group_members, exact_keeper, removed_units, unit_of_digest, unit_of_repo, repo_level, best
    )
    if with_keys:
        for i, row in enumerate(rows_out):
            row["digest"] = exact_digests[i]
            keys = None
            if config.fuzzy and not repo_level:
                keys = unit_keys[unit_of_digest[metas[i].digest]]
            row["band_keys"] = None if keys is None else [int(k) for k in keys]
    stats.update(
        records=len(metas),
        token_less=token_less,
        level=config.level,
        bands=bands,
        rows=band_rows,
        num_perm=config.num_perm,
        verify=config.verify,
        verify_threshold=config.verify_threshold,
        two_pass=two_pass,
        lsh_candidate_units=outcome.candidate_units if outcome else 0,
        lsh_buckets=outcome.buckets if outcome else 0,
        candidate_pairs=outcome.checked_pairs if outcome else 0,
        verification_rejected=outcome.rejected_pairs if outcome else 0,
        s_curve=[list(p) for p in lsh.s_curve(bands, band_rows, config.s_curve_points)],
    )
    return DedupResult(rows=rows_out, stats=stats)


def _reread_sets(
    records: Iterable[Mapping[str, Any]],
    config: DedupConfig,
    needed: set[int],
    unit_of_digest: dict[bytes, int],
    unit_of_repo: dict[str, int],
) -> dict[int, np.ndarray]:
    """Pass 2: shingle sets of the bucketed units only, recomputed from the re-read content."""
    sets: dict[int, np.ndarray] = {}
    parts: dict[int, list[np.ndarray]] = {}
    if not needed:
        return sets
    for index, rec in enumerate(records):
        if config.level == "repo":
            unit = unit_of_repo.get(str(rec.get("repo_name") or ""))
            if unit not in needed:
                continue
            hashes = record_shingles(rec, config)
            if hashes.size:
                parts.setdefault(unit, []).append(hashes)
            continue
        unit = unit_of_digest.get(_digest(rec, index, config))
        if unit in needed and unit not in sets:
            sets[unit] = record_shingles(rec, config)
    sets.update(_merge_parts(parts, needed))
    return sets


def _merge_parts(parts: dict[int, list[np.ndarray]], needed: set[int]) -> dict[int, np.ndarray]:
    """Repo level: the union of a repository's file sets, built once (and only for bucketed repos)."""
    return {unit: np.unique(np.concatenate(arrays)) for unit, arrays in parts.items() if unit in needed}


def _decide(
    metas, group_members, exact_keeper, removed_units, unit_of_digest, unit_of_repo, repo_level, best
):
    """Turn exact groups + removed fuzzy units into one row per record (module doc: no chains)."""
    rows: list[dict[str, Any]] = [{} for _ in metas]
    exact_removed = fuzzy_removed = 0
    if repo_level:
        removed_repos = {u for u in removed_units}
        repo_name_of = {u: name for name, u in unit_of_repo.items()}
        paths_of_repo: dict[str, set[str]] = {}
        for meta in metas:
            paths_of_repo.setdefault(meta.repo_name, set()).add(meta.path)
        demote = {i for i, m in enumerate(metas) if unit_of_repo.get(m.repo_name) in removed_repos}
        for members in group_members.values():
            keeper = best(members, demote)
            for i in members:
                meta = metas[i]
                if keeper not in demote:
                    if i == keeper:
                        rows[i] = _row(meta)
                    else:
                        rows[i] = _row(meta, "exact", 1.0, metas[keeper].repo_name, metas[keeper].path)
                        exact_removed += 1
                    continue
                kept_unit, sim = removed_units[unit_of_repo[meta.repo_name]]
                kept_repo = repo_name_of[kept_unit]
                target_path = meta.path if meta.path in paths_of_repo.get(kept_repo, ()) else None
                rows[i] = _row(meta, "fuzzy", sim, kept_repo, target_path)
                fuzzy_removed += 1
    else:
        unit_digest = {u: d for d, u in unit_of_digest.items()}
        for digest, members in group_members.items():
            keeper = exact_keeper[digest]
            unit = unit_of_digest.get(digest)
            if unit is not None and unit in removed_units:
                kept_unit, sim = removed_units[unit]
                target = metas[exact_keeper[unit_digest[kept_unit]]]
                for i in members:
                    rows[i] = _row(metas[i], "fuzzy", sim, target.repo_name, target.path)
                fuzzy_removed += len(members)
                continue
            for i in members:
                if i == keeper:
                    rows[i] = _row(metas[i])
                else:
                    rows[i] = _row(metas[i], "exact", 1.0, metas[keeper].repo_name, metas[keeper].path)
                    exact_removed += 1
    sizes = Counter(row["cluster_id"] for row in rows)
    histogram = Counter(sizes.values())
    stats = {
        "kept": sum(1 for row in rows if row["keep"]),
        "exact_removed": exact_removed,
        "fuzzy_removed": fuzzy_removed,
        "cluster_size_histogram": {str(k): histogram[k] for k in sorted(histogram)},
    }
    return rows, stats


def _row(
    meta: _Meta,
    kind: str | None = None,
    sim: float | None = None,
    target_repo: str | None = None,
    target_path: str | None = None,
) -> dict[str, Any]:
    """One output row; a kept record heads its own cluster, a removed one joins its keeper's."""
    keep = kind is None
    return {
        "repo_name": meta.repo_name,
        "path": meta.path,
        "blob_id": meta.blob_id,
        "keep": keep,
        "duplicate_of_repo_name": None if keep else target_repo,
        "duplicate_of_path": None if keep else target_path,
        "dup_kind": kind,
        "dup_jaccard": sim,
        "cluster_id": cluster_id(meta.repo_name, meta.path)
        if keep
        else cluster_id(target_repo or "", target_path or ""),
    }
