"""The local engine of the ``data`` stage: the ``shard_work`` phases, phase C on a process pool.

    phase A  read (main process)     ingest units ──▶ prepare_record ──▶ _work/input/part-N.parquet
                                     (streamed; ShardWriter flushes every records_per_shard rows)
    phase B  dedup (main process)    deduplicate(re-iterable reader over _work/input, eligible rows)
                                     (+ against the previous output's index chain when extending)
                                     ──▶ _work/dedup.parquet (removed records: _idx -> kind, kept copy)
                                         _work/keys/part-N.parquet (digest, band keys per eligible record)
    phase C  shards (process pool)   process_shard(part-N) ──▶ kept/ rejected/ quarantined/ signals/
                                     dedup_index/ part-N
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
from concurrent.futures import as_completed
from typing import Any

from opc_core import storage
from opc_core.child_processes import process_pool
from opc_core.progress import track
from opc_core.stage import StageContext
from opc_data.config import DataConfig
from opc_data.funnel_report import report_header
from opc_data.shard_work import finish, run_dedup, shard_indices, shard_task, stats_uri, write_input_shards

log = logging.getLogger("opc.data.local")


def run_local(config: DataConfig, ctx: StageContext) -> dict[str, Any]:
    """Phases A-D (module doc); returns counts, funnel, dedup stats and the decontamination report."""
    out = ctx.output_uri
    marker = write_input_shards(config, out, ctx.previous, ctx.key)
    log.info("data: %d records in %d input shards", marker["records"], len(marker["shards"]))
    decisions, dedup_stats = run_dedup(config, out, ctx.previous)
    todo = [s for s in marker["shards"] if not storage.exists(stats_uri(out, s))]
    log.info("data: %d/%d shards to process", len(todo), len(marker["shards"]))
    config_json = config.model_dump_json()
    workers = config.engine.workers or os.cpu_count() or 1
    jobs = []
    for shard in todo:
        idxs = shard_indices(out, shard)
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
    stats = [storage.read_json(stats_uri(out, s)) for s in marker["shards"]]
    result = finish(config, out, stats, dedup_stats, marker["records"], header=report_header(ctx))
    result.update(sources=marker["sources"], units=marker["units"], units_total=marker["units_total"],
                  units_skipped=marker["units_skipped"])
    storage.remove(storage.join(out, "_work"))
    return result
