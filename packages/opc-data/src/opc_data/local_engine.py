"""The local engine of the ``data`` stage: a process pool over shards, streaming, resumable.

    phase A  read (main process)     ingest units ──▶ prepare_record ──▶ _work/input/part-N.parquet
                                     (streamed; ShardWriter flushes every records_per_shard rows)
    phase B  dedup (main process)    deduplicate(re-iterable reader over _work/input, eligible rows)
                                     ──▶ _work/dedup.parquet (removed records: _idx -> kind, kept copy)
    phase C  shards (process pool)   process_shard(part-N) ──▶ kept/ rejected/ quarantined/ signals/ part-N
                                     then _work/stats/part-N.json (the shard's completion marker)
    phase D  merge (main process)    funnel + attribution + decontamination report + report/

Memory: phase A holds one shard; phase B holds dedup's index (per record ids and digests, per
distinct content 16 band keys, plus shingle sets of LSH-bucketed units only: the reader is
re-iterable, so dedup's two-pass mode applies); phase C holds one shard per worker.
Resume: each phase leaves a marker (``_work/input/_DONE.json``, ``_work/dedup.parquet``,
``_work/stats/part-N.json``); a rerun skips what is marked. ``_work/`` is removed once the stage
output is complete.

Workers are spawned (not forked: the parent may hold S3 client threads), so a *script* that runs the
stage with ``workers`` > 1 needs the usual ``if __name__ == "__main__":`` guard; the ``opc`` CLI,
notebooks and tests need nothing.

What it does NOT do: distribute across machines (``spark_engine`` does), or import pyspark.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from concurrent.futures import as_completed
from typing import Any

import pyarrow as pa

from opc_core import dataset, storage
from opc_core.child_processes import process_pool
from opc_core.progress import track
from opc_core.stage import StageContext
from opc_data.config import DataConfig
from opc_data.funnel_report import report_header
from opc_data.stage import (
    KEPT_SCHEMA,
    PREPARED_SCHEMA,
    QUARANTINED_SCHEMA,
    REJECTED_SCHEMA,
    dedup_decisions,
    dedup_eligible,
    prepare_record,
    process_shard,
    signals_schema,
)

log = logging.getLogger("opc.data.local")
DATASETS = ("kept", "rejected", "quarantined", "signals")


def _work(out: str, *parts: str) -> str:
    return storage.join(out, "_work", *parts)


def write_input_shards(config: DataConfig, out: str) -> dict[str, Any]:
    """Phase A: read every source, prepare each record, write input shards; returns the marker."""
    from opc_data.ingest import plan_units, read_unit

    done_uri = _work(out, "input", "_DONE.json")
    if storage.exists(done_uri):
        return storage.read_json(done_uri)
    units = plan_units(config.ingest)
    writer = dataset.ShardWriter(_work(out, "input"), PREPARED_SCHEMA, config.engine.records_per_shard)
    idx = 0
    for unit in track(units, "data: read sources", unit="sources"):
        for record in read_unit(unit, config.ingest):
            writer.write(prepare_record(record, idx, config))
            idx += 1
    shards = [os.path.basename(u) if not storage.is_remote(u) else u.rsplit("/", 1)[-1] for u in writer.close()]
    marker = {"records": idx, "shards": shards, "sources": sorted({u.label for u in units})}
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


def run_dedup(config: DataConfig, out: str) -> tuple[dict[int, tuple[str, str | None, str | None]], dict]:
    """Phase B: global exact + fuzzy dedup over the eligible rows; cached in ``_work/dedup.parquet``."""
    from opc_data.dedup import deduplicate

    uri = _work(out, "dedup.parquet")
    stats_uri = _work(out, "dedup_stats.json")
    if storage.exists(uri) and storage.exists(stats_uri):
        return _read_decisions(uri), storage.read_json(stats_uri)
    records = EligibleRecords(_work(out, "input"))
    result = deduplicate(records, config.dedup)
    decisions = dedup_decisions(result.rows, records.indices())
    write_decisions(uri, decisions)
    storage.write_json_atomic(stats_uri, result.stats)
    return decisions, result.stats


def write_decisions(uri: str, decisions: dict[int, tuple[str, str | None, str | None]]) -> None:
    items = sorted(decisions.items())
    table = pa.table({
        "_idx": pa.array([i for i, _ in items], pa.int64()),
        "dup_kind": pa.array([d[0] for _, d in items], pa.string()),
        "duplicate_of_repo_name": pa.array([d[1] for _, d in items], pa.string()),
        "duplicate_of_path": pa.array([d[2] for _, d in items], pa.string()),
    })
    dataset.write_table(uri, table)


def _read_decisions(uri: str) -> dict[int, tuple[str, str | None, str | None]]:
    import io

    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(storage.read_bytes(uri)))
    cols = [table.column(c).to_pylist() for c in ("_idx", "dup_kind", "duplicate_of_repo_name", "duplicate_of_path")]
    return {i: (k, r, p) for i, k, r, p in zip(*cols, strict=True)}


def shard_task(out: str, shard: str, decisions: dict[int, tuple[str, str | None, str | None]],
               config_json: str, seed: int) -> dict[str, Any]:
    """Phase C for one shard (runs in a worker process): outputs first, then the stats marker."""
    config = DataConfig.model_validate_json(config_json)
    result = process_shard(_shard_rows(out, shard), decisions, config, seed)
    schemas = {"kept": KEPT_SCHEMA, "rejected": REJECTED_SCHEMA, "quarantined": QUARANTINED_SCHEMA,
               "signals": signals_schema()}
    for name in DATASETS:
        if name == "signals" and not config.store_signals:
            continue
        dataset.write_table(storage.join(out, name, shard), pa.Table.from_pylist(result[name], schema=schemas[name]))
    stats = {"shard": shard, "records": sum(len(result[n]) for n in ("kept", "rejected", "quarantined")),
             "kept": len(result["kept"]), "rejected": len(result["rejected"]),
             "quarantined": len(result["quarantined"]), "funnel": result["funnel"],
             "decontamination_hits": result["decontamination_hits"], "transform_samples": result["transform_samples"]}
    storage.write_json_atomic(_work(out, "stats", shard.replace(".parquet", ".json")), stats)
    return stats


def _shard_rows(out: str, shard: str) -> Iterator[dict[str, Any]]:
    import io

    import pyarrow.parquet as pq

    pf = pq.ParquetFile(io.BytesIO(storage.read_bytes(_work(out, "input", shard))))
    for batch in pf.iter_batches(batch_size=1024):
        yield from batch.to_pylist()


def _shard_indices(out: str, shard: str) -> set[int]:
    import io

    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(storage.read_bytes(_work(out, "input", shard))), columns=["_idx"])
    return set(table.column("_idx").to_pylist())


def run_local(config: DataConfig, ctx: StageContext) -> dict[str, Any]:
    """Phases A-D (module doc); returns counts, funnel, dedup stats and the decontamination report."""
    out = ctx.output_uri
    marker = write_input_shards(config, out)
    log.info("data: %d records in %d input shards", marker["records"], len(marker["shards"]))
    decisions, dedup_stats = run_dedup(config, out)
    todo = [s for s in marker["shards"] if not storage.exists(_work(out, "stats", s.replace(".parquet", ".json")))]
    log.info("data: %d/%d shards to process", len(todo), len(marker["shards"]))
    config_json = config.model_dump_json()
    workers = config.engine.workers or os.cpu_count() or 1
    jobs = []
    for shard in todo:
        idxs = _shard_indices(out, shard)
        jobs.append((shard, {i: decisions[i] for i in idxs if i in decisions}))
    if workers <= 1 or len(jobs) <= 1:
        for shard, dec in track(jobs, "data: shards", unit="shards", every=5.0):
            shard_task(out, shard, dec, config_json, ctx.seed)
    else:
        with process_pool(min(workers, len(jobs))) as pool:  # workers die with us, kill -9 included
            futures = [pool.submit(shard_task, out, shard, dec, config_json, ctx.seed) for shard, dec in jobs]
            for f in track(as_completed(futures), "data: shards", total=len(futures), unit="shards",
                            every=5.0):
                f.result()
    stats = [storage.read_json(_work(out, "stats", s.replace(".parquet", ".json"))) for s in marker["shards"]]
    result = finish(config, out, stats, dedup_stats, marker["records"], header=report_header(ctx))
    result["sources"] = marker["sources"]
    storage.remove(storage.join(out, "_work"))
    return result


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
