"""The phases both data-stage engines share: input shards, global dedup, the per-shard task, the merge.

    phase A  write_input_shards   ingest units ──▶ steps.prepare_record ──▶ _work/input/part-N.parquet
    phase B  run_dedup            global exact + fuzzy dedup ──▶ _work/dedup.parquet (removed rows -> kept copy)
    phase C  shard_task           steps.process_shard(part-N) ──▶ kept/ rejected/ quarantined/ signals/ part-N,
                                  then _work/stats/part-N.json (the shard's completion marker)
    phase D  finish               funnel + attribution + decontamination report + report/

An engine decides where each phase runs: ``local_engine`` runs A, B and D in the main process and C in a
process pool; ``spark_engine`` runs A, B and C as Spark jobs (its own A and B, the same outputs) and D on the
driver. Resume: each phase leaves a marker (``_work/input/_DONE.json``, ``_work/dedup.parquet``,
``_work/stats/part-N.json``); a rerun skips what is marked.

What it does NOT do: schedule work (the engines do) or decide anything about a record (``steps`` does).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa

from opc_core import dataset, storage
from opc_core.manifest import Manifest
from opc_core.progress import track
from opc_data.config import DataConfig
from opc_data.incremental import INDEX_DIR
from opc_data.schemas import (
    INDEX_SCHEMA,
    KEPT_SCHEMA,
    KEYS_SCHEMA,
    PREPARED_SCHEMA,
    QUARANTINED_SCHEMA,
    REJECTED_SCHEMA,
    signals_schema,
)
from opc_data.steps import DedupDecision, dedup_decisions, dedup_eligible, prepare_record, process_shard

DATASETS = ("kept", "rejected", "quarantined", "signals")


def stats_uri(out: str, shard: str) -> str:
    """The completion marker of one shard's phase C."""
    return work_uri(out, "stats", shard.replace(".parquet", ".json"))


def work_uri(out: str, *parts: str) -> str:
    """Where the engines keep their resumable intermediate files: ``<output>/_work/...`` (removed at the end)."""
    return storage.join(out, "_work", *parts)


def write_input_shards(config: DataConfig, out: str, previous: Manifest | None = None,
                       data_key: str = "") -> dict[str, Any]:
    """Phase A: read every (new) source unit, prepare each record, write input shards; returns the marker."""
    from opc_data.incremental import select_units
    from opc_data.ingest import read_unit

    done_uri = work_uri(out, "input", "_DONE.json")
    if storage.exists(done_uri):
        return storage.read_json(done_uri)
    units, unit_info = select_units(config, previous, data_key)
    writer = dataset.ShardWriter(work_uri(out, "input"), PREPARED_SCHEMA, config.engine.records_per_shard)
    idx = 0
    for unit in track(units, "data: read sources", unit="sources"):
        for record in read_unit(unit, config.ingest):
            writer.write(prepare_record(record, idx, config))
            idx += 1
    shards = [os.path.basename(u) if not storage.is_remote(u) else u.rsplit("/", 1)[-1] for u in writer.close()]
    marker = {"records": idx, "shards": shards, "sources": sorted({u.label for u in units}), **unit_info}
    storage.write_json_atomic(done_uri, marker)
    return marker


class EligibleRecords:
    """A re-iterable view of the dedup-eligible rows of the input shards (dedup reads it twice)."""

    def __init__(self, input_uri: str) -> None:
        self.input_uri = input_uri

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for row in dataset.read_rows(self.input_uri):
            if dedup_eligible(row):
                yield row

    def indices(self) -> Iterator[int]:
        for batch in dataset.read_batches(self.input_uri, ["_idx", "quarantine_reason", "license_reason"]):
            for idx, q, lic in zip(*(batch.column(i).to_pylist() for i in range(3)), strict=True):
                if q is None and lic is None:
                    yield idx


def run_dedup(config: DataConfig, out: str, previous: Manifest | None = None) -> tuple[dict[int, DedupDecision], dict]:
    """Phase B: global exact + fuzzy dedup over the eligible rows, then (extending a previous output) against
    its index chain (``incremental.check_previous``); cached in ``_work/dedup.parquet``. Also writes the
    eligible records' dedup keys (``_work/keys/``) that phase C puts into ``dedup_index/``."""
    from opc_data.dedup import deduplicate

    uri = work_uri(out, "dedup.parquet")
    stats_uri = work_uri(out, "dedup_stats.json")
    if storage.exists(uri) and storage.exists(stats_uri):
        return read_decisions(uri), storage.read_json(stats_uri)
    records = EligibleRecords(work_uri(out, "input"))
    result = deduplicate(records, config.dedup, with_keys=True)
    idxs = list(records.indices())
    decisions = dedup_decisions(result.rows, iter(idxs))
    write_keys(out, config.engine.records_per_shard,
               ((i, r["digest"], r["band_keys"]) for i, r in zip(idxs, result.rows, strict=True)))
    stats = result.stats
    if previous is not None:
        from opc_data.incremental import check_previous

        decisions, stats = check_previous(config, work_uri(out), previous, decisions, stats)
    write_decisions(uri, decisions)
    storage.write_json_atomic(stats_uri, stats)
    return decisions, stats


def write_keys(out: str, per: int, items: Iterable[tuple[int, bytes, list[int] | None]]) -> None:
    """``_work/keys/part-N.parquet``: (_idx, digest, band_keys) of the eligible records of input shard N."""
    groups: dict[int, list[dict[str, Any]]] = {}
    for idx, digest, keys in items:
        if digest.startswith(b"unread:"):  # named by position: the record's global _idx (both engines)
            digest = b"unread:" + int(idx).to_bytes(8, "little")
        groups.setdefault(int(idx) // per, []).append({"_idx": int(idx), "digest": digest, "band_keys": keys})
    storage.makedirs(work_uri(out, "keys"))
    for k, rows in sorted(groups.items()):
        rows.sort(key=lambda r: r["_idx"])
        dataset.write_table(work_uri(out, "keys", dataset.shard_name(k)), pa.Table.from_pylist(rows, schema=KEYS_SCHEMA))


def shard_keys(out: str, shard: str) -> dict[int, tuple[bytes, list[int] | None]]:
    """The dedup keys of one input shard's eligible records (none when it has no eligible record)."""
    uri = work_uri(out, "keys", shard)
    if not storage.exists(uri):
        return {}
    t = dataset.read_file(uri)
    return {i: (d, k) for i, d, k in zip(*(t.column(c).to_pylist() for c in ("_idx", "digest", "band_keys")),
                                       strict=True)}


def write_decisions(uri: str, decisions: dict[int, DedupDecision]) -> None:
    items = sorted(decisions.items())
    table = pa.table({
        "_idx": pa.array([i for i, _ in items], pa.int64()),
        "dup_kind": pa.array([d[0] for _, d in items], pa.string()),
        "duplicate_of_repo_name": pa.array([d[1] for _, d in items], pa.string()),
        "duplicate_of_path": pa.array([d[2] for _, d in items], pa.string()),
    })
    dataset.write_table(uri, table)


def read_decisions(uri: str) -> dict[int, DedupDecision]:
    table = dataset.read_file(uri)
    cols = [table.column(c).to_pylist() for c in ("_idx", "dup_kind", "duplicate_of_repo_name", "duplicate_of_path")]
    return {i: (k, r, p) for i, k, r, p in zip(*cols, strict=True)}


def shard_task(out: str, shard: str, decisions: dict[int, DedupDecision],
               config_json: str, seed: int) -> dict[str, Any]:
    """Phase C for one shard (runs in a worker process): outputs first, then the stats marker."""
    config = DataConfig.model_validate_json(config_json)
    result = process_shard(shard_rows(out, shard), decisions, config, seed, keys=shard_keys(out, shard))
    schemas = {"kept": KEPT_SCHEMA, "rejected": REJECTED_SCHEMA, "quarantined": QUARANTINED_SCHEMA,
               "signals": signals_schema()}
    index = [{**row, "kept_file": f"kept/{shard}"} for row in result["index"]]
    dataset.write_table(storage.join(out, INDEX_DIR, shard), pa.Table.from_pylist(index, schema=INDEX_SCHEMA))
    for name in DATASETS:
        if name == "signals" and not config.store_signals:
            continue
        dataset.write_table(storage.join(out, name, shard), pa.Table.from_pylist(result[name], schema=schemas[name]))
    stats = {"shard": shard, "records": sum(len(result[n]) for n in ("kept", "rejected", "quarantined")),
             "kept": len(result["kept"]), "rejected": len(result["rejected"]),
             "quarantined": len(result["quarantined"]), "funnel": result["funnel"],
             "decontamination_hits": result["decontamination_hits"], "transform_samples": result["transform_samples"]}
    storage.write_json_atomic(stats_uri(out, shard), stats)
    return stats


def shard_rows(out: str, shard: str) -> Iterator[dict[str, Any]]:
    for batch in dataset.read_file_batches(work_uri(out, "input", shard), batch_size=1024):
        yield from batch.to_pylist()


def shard_indices(out: str, shard: str) -> set[int]:
    return set(dataset.read_file(work_uri(out, "input", shard), columns=["_idx"]).column("_idx").to_pylist())


def finish(config: DataConfig, out: str, shard_stats: list[dict[str, Any]], dedup_stats: dict[str, Any],
           records_in: int, header: dict[str, str] | None = None) -> dict[str, Any]:
    """Phase D (both engines): merge shard counts, write attribution, decontamination and the report."""
    from opc_core.errors import OpcError
    from opc_data.decontamination import BenchmarkIndex, summarize_hits
    from opc_data.funnel_report import FunnelCounter, funnel_metrics, write_report
    from opc_data.licenses import Attribution
    from opc_data.transforms import merge_samples

    counter = FunnelCounter()
    samples: dict[str, dict[str, Any]] = {}
    hits: list[dict[str, Any]] = []
    totals = {"kept": 0, "rejected": 0, "quarantined": 0}
    for s in shard_stats:
        counter.merge(s["funnel"])
        hits.extend(s["decontamination_hits"])
        merge_samples(samples, s.get("transform_samples", {}))
        for k in totals:
            totals[k] += s[k]
    if sum(totals.values()) != records_in:
        raise OpcError(f"records lost: {records_in} read, {sum(totals.values())} written", where=out,
                       hint="rerun with --force; report this as a bug")
    attribution = Attribution()
    kept_uri = storage.join(out, "kept")
    for batch in dataset.read_batches(kept_uri, ["repo_name", "license", "size", "source"]):
        for row in batch.to_pylist():
            attribution.add(row)
    storage.write_json_atomic(storage.join(out, "attribution.json"), attribution.to_dict())
    items = {}
    if config.decontamination.enabled:
        items = dict(BenchmarkIndex.build(config.decontamination).items)
    decon = summarize_hits(hits, items)
    storage.write_json_atomic(storage.join(out, "decontamination.json"), decon)
    funnel = funnel_metrics(counter)
    dedup_summary = {k: v for k, v in dedup_stats.items() if k != "s_curve"}
    dedup_summary["s_curve"] = dedup_stats.get("s_curve")
    if config.report:
        write_report(out, funnel, dedup_stats, decon, dict(sorted(samples.items())),
                     counts={"in": records_in, **totals}, header=header)
    return {"records_in": records_in, **totals, "funnel": funnel, "dedup_stats": dedup_summary,
            "decontamination": decon["benchmarks"]}
