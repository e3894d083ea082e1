"""Incremental data runs: only new source units in, dedup against everything already kept.

A data output extends the previous version's data output (``ctx.previous``, the ``previous`` input role
of a retrain) like this::

    plan_units ──stamps──▶ (label, stamp) in previous ingested_units.json? ──yes──▶ skipped
                                                                            └─no──▶ phase A reads it
    phase B: within-dump exact + fuzzy dedup ──▶ survivors ──▶ check_previous against the index chain
             (previous dedup_index + ITS previous's + ...):
               digest in the index            ──▶ removed "exact", duplicate_of = the old file
               shared band key (fuzzy on)     ──▶ candidate; verified: true Jaccard of the new raw
                                                  content vs the old KEPT content >= verify_threshold
                                                  ──▶ removed "fuzzy", duplicate_of = the old file
               records that pointed at a survivor removed here now point at the old file (no chains)

Every data output (incremental or not) writes what a later version needs: ``ingested_units.json``
(cumulative: the previous list + this run's new units) and ``dedup_index/part-N.parquet`` (one row per
record kept by THIS output: repo_name, path, digest, band_keys, kept_file). The old records' index
stays where it is: a version's index chain is followed through the manifests' ``previous`` inputs.

Memory: the driver holds the chain's digests and band keys (one entry per old kept record and band) and
the shingle sets of the candidate pairs only. The band keys of a previous output are only comparable
when its shingle size, permutations, seed and bands/rows are this run's (checked; an OpcError otherwise).

What it does NOT do: decide within-dump duplicates (``dedup``), or read anything of the old outputs but
their manifests, ``ingested_units.json``, ``dedup_index/`` and the kept shards of fuzzy candidates.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from opc_core import dataset, storage
from opc_core.errors import OpcError
from opc_core.lineage import version_chain
from opc_core.manifest import Manifest
from opc_data.config import DataConfig
from opc_data.steps import DedupDecision

log = logging.getLogger("opc.data.incremental")

UNITS_FILE = "ingested_units.json"
INDEX_DIR = "dedup_index"
ARTIFACTS = {"kept": "kept", "dedup_index": INDEX_DIR, "units": UNITS_FILE}


# ---- phase A: which units are new ------------------------------------------------------------------------

def previous_units(previous: Manifest) -> list[dict[str, str]]:
    """The cumulative ``ingested_units.json`` of a previous data output."""
    return list(storage.read_json(previous.artifact("units")))


def select_units(config: DataConfig, previous: Manifest | None, data_key: str) -> tuple[list[Any], dict[str, Any]]:
    """The units phase A reads (all, or the new ones when extending) and the marker fields about them."""
    from opc_data.ingest import plan_units
    from opc_data.ingest.unit_stamps import unit_entry

    units = plan_units(config.ingest)
    entries = [unit_entry(u, data_key, config.ingest.skip_dirs) for u in units]
    if previous is None:
        return units, {"units": entries, "units_total": len(units), "units_skipped": 0}
    if config.dedup.level == "repo":
        raise OpcError("repository-level dedup cannot extend a previous data output (a repository's new files "
                       "would have to be merged with its old ones)", where="stages.data.dedup.level",
                       hint="use dedup.level: file, or run the whole pipeline (not a retrain)")
    done = {(e["label"], e["stamp"]) for e in previous_units(previous)}
    new = [(u, e) for u, e in zip(units, entries, strict=True) if (e["label"], e["stamp"]) not in done]
    log.info("data: %d of %d source units are new (%d already ingested by %s)", len(new), len(units),
             len(units) - len(new), previous.key)
    if not new and not config.allow_empty:
        raise OpcError(f"no new source unit: all {len(units)} units of the sources were already ingested by the "
                       f"data output {previous.key}", where="stages.data.ingest.sources",
                       hint="add a new dump to the source location (or change a file), then retrain")
    return [u for u, _ in new], {"units": [e for _, e in new], "units_total": len(units),
                                 "units_skipped": len(units) - len(new)}


def pending_units(config: DataConfig, previous: Manifest) -> int:
    """How many source units a version on top of ``previous`` would read (``StageSpec.pending``)."""
    from opc_data.ingest import plan_units
    from opc_data.ingest.unit_stamps import unit_entry

    done = {(e["label"], e["stamp"]) for e in previous_units(previous)}
    entries = (unit_entry(u, previous.key, config.ingest.skip_dirs) for u in plan_units(config.ingest))
    return sum((e["label"], e["stamp"]) not in done for e in entries)


def cumulative_units(previous: Manifest | None, new_entries: list[dict[str, str]]) -> list[dict[str, str]]:
    return (previous_units(previous) if previous is not None else []) + list(new_entries)


# ---- phase B': the index chain -------------------------------------------------------------------------

def _lsh_signature(cfg: Any) -> tuple:
    from opc_data.dedup import DedupConfig

    c = cfg if isinstance(cfg, DedupConfig) else DedupConfig.model_validate(cfg)
    return (c.shingle_size, c.num_perm, c.seed, c.lsh_params())


@dataclass
class PreviousIndex:
    """The old kept records of an index chain: digests, band keys and where each record's kept row is."""

    records: list[tuple[str, str, str, str]] = field(default_factory=list)  # (output uri, repo, path, kept_file)
    by_digest: dict[bytes, int] = field(default_factory=dict)
    by_band: dict[tuple[int, int], list[int]] = field(default_factory=dict)

    @classmethod
    def load(cls, chain: list[Manifest], config: DataConfig) -> PreviousIndex:
        index = cls()
        want = _lsh_signature(config.dedup)
        for m in chain:
            fuzzy = config.dedup.fuzzy
            if fuzzy and _lsh_signature(m.config.get("dedup", {})) != want:
                raise OpcError(f"the data output {m.key} was deduplicated with other MinHash/LSH settings, so its "
                               "band keys cannot be compared with this run's", where="stages.data.dedup",
                               hint="keep dedup.shingle_size/num_perm/seed/bands/rows as they were, or run the "
                                    "whole pipeline (not a retrain)")
            cols = ["repo_name", "path", "digest", "band_keys", "kept_file"]
            for batch in dataset.read_batches(m.artifact("dedup_index"), cols):
                for repo, path, digest, keys, kept_file in zip(*(batch.column(c).to_pylist() for c in cols),
                                                              strict=True):
                    rid = len(index.records)
                    index.records.append((m.uri, repo, path, kept_file))
                    index.by_digest.setdefault(digest, rid)  # newest output first: its record wins
                    if fuzzy and keys:
                        for pos, key in enumerate(keys):
                            index.by_band.setdefault((pos, key), []).append(rid)
        return index

    def target(self, rid: int) -> tuple[str, str]:
        return self.records[rid][1], self.records[rid][2]

    def shingle_sets(self, rids: set[int], config: Any) -> dict[int, np.ndarray]:
        """The old records' shingle sets, from their kept (transformed) content; each kept shard read once."""
        from opc_data.dedup import record_shingles

        by_file: dict[str, dict[tuple[str, str], int]] = {}
        for rid in rids:
            uri, repo, path, kept_file = self.records[rid]
            by_file.setdefault(storage.join(uri, kept_file), {})[(repo, path)] = rid
        sets: dict[int, np.ndarray] = {}
        for file_uri, wanted in sorted(by_file.items()):
            table = dataset.read_file(file_uri, columns=["repo_name", "path", "content", "size"])
            for row in table.to_pylist():
                rid = wanted.get((row["repo_name"], row["path"]))
                if rid is not None and rid not in sets:
                    sets[rid] = record_shingles(row, config)
            missing = [k for k, r in wanted.items() if r not in sets]
            if missing:
                raise OpcError(f"the dedup index names {missing[0][0]}/{missing[0][1]}, which this kept shard does "
                               "not hold", where=file_uri, hint="the previous output was modified; rerun it")
        return sets


def _survivor_keys(keys_uri: str,
                   decisions: dict[int, DedupDecision]) -> Iterator[tuple[int, bytes, list[int] | None]]:
    if not storage.exists(keys_uri):
        return
    for batch in dataset.read_batches(keys_uri, ["_idx", "digest", "band_keys"]):
        for idx, digest, keys in zip(*(batch.column(i).to_pylist() for i in range(3)), strict=True):
            if idx not in decisions:
                yield idx, digest, keys


def check_previous(config: DataConfig, work: str, previous: Manifest, decisions: dict[int, DedupDecision],
                   stats: dict[str, Any]) -> tuple[dict[int, DedupDecision], dict[str, Any]]:
    """Phase B' (module doc): remove the within-dump survivors that duplicate an old kept record.

    ``work``: the engines' ``_work/`` folder, with ``input/`` (the input shards) and ``keys/`` (the eligible
    records' dedup keys); ``decisions``/``stats``: the within-dump dedup's. Returns them updated."""
    from opc_data.dedup import record_shingles
    from opc_data.shingles import jaccard

    dcfg = config.dedup
    index = PreviousIndex.load(version_chain(previous), config)
    hits: dict[int, tuple[str, int, float | None]] = {}  # new _idx -> (kind, old record, jaccard)
    candidates: dict[int, set[int]] = {}
    for idx, digest, keys in _survivor_keys(storage.join(work, "keys"), decisions):
        rid = index.by_digest.get(digest) if dcfg.exact else None
        if rid is not None:
            hits[idx] = ("exact", rid, 1.0)
            continue
        if dcfg.fuzzy and keys:
            found = {r for pos, key in enumerate(keys) for r in index.by_band.get((pos, key), ())}
            if found:
                candidates[idx] = found
    if candidates and dcfg.verify:
        new_sets = {}
        for row in dataset.read_rows(storage.join(work, "input"), ["_idx", "content", "size", "is_binary"]):
            if row["_idx"] in candidates:
                new_sets[row["_idx"]] = record_shingles(row, dcfg)
        old_sets = index.shingle_sets(set().union(*candidates.values()), dcfg)
        for idx in sorted(candidates):
            best: tuple[float, int] | None = None
            for rid in sorted(candidates[idx]):
                sim = jaccard(new_sets[idx], old_sets[rid])
                if sim >= dcfg.verify_threshold and (best is None or sim > best[0]):
                    best = (sim, rid)
            if best is not None:
                hits[idx] = ("fuzzy", best[1], best[0])
    elif candidates:
        for idx, found in candidates.items():
            hits[idx] = ("fuzzy", min(found), None)
    return _apply(decisions, stats, hits, index, storage.join(work, "input"))


def _apply(decisions: dict[int, DedupDecision], stats: dict[str, Any], hits: dict[int, tuple[str, int, float | None]],
           index: PreviousIndex, input_uri: str) -> tuple[dict[int, DedupDecision], dict[str, Any]]:
    """Add the removals, re-point records whose keeper was just removed, and recount."""
    updated = dict(decisions)
    moved: dict[tuple[str, str], tuple[str, str, str]] = {}  # removed survivor (repo, path) -> (kind, old repo, path)
    if hits:
        names = {}
        for row in dataset.read_rows(input_uri, ["_idx", "repo_name", "path"]):
            if row["_idx"] in hits:
                names[row["_idx"]] = (str(row["repo_name"] or ""), str(row["path"] or ""))
        for idx, (kind, rid, _sim) in sorted(hits.items()):
            old_repo, old_path = index.target(rid)
            updated[idx] = (kind, old_repo, old_path)
            moved[names[idx]] = (kind, old_repo, old_path)
    for idx, (kind, repo, path) in decisions.items():
        target = moved.get((str(repo or ""), str(path or "")))
        if target is not None:
            new_kind = "exact" if kind == "exact" and target[0] == "exact" else "fuzzy"
            updated[idx] = (new_kind, target[1], target[2])
    kinds = [d[0] for d in updated.values()]
    new_stats = dict(stats)
    new_stats.update(
        kept=stats["records"] - len(updated), exact_removed=kinds.count("exact"), fuzzy_removed=kinds.count("fuzzy"),
        previous_index_records=len(index.records),
        previous_exact_removed=sum(1 for h in hits.values() if h[0] == "exact"),
        previous_fuzzy_removed=sum(1 for h in hits.values() if h[0] == "fuzzy"),
    )
    log.info("data: %d new records duplicate one of the %d already kept (%d exact, %d fuzzy)", len(hits),
             len(index.records), new_stats["previous_exact_removed"], new_stats["previous_fuzzy_removed"])
    return updated, new_stats
