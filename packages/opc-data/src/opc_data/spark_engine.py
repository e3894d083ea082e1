"""The Spark engine of the ``data`` stage: the same per-record functions as the local engine, as Spark jobs.

    phase A  read          (Spark)   one task per source unit (a record file, a repository folder, an
                                     archive, a distribution; ``ingest.plan_units``, sorted, cheap):
                                     read_unit -> prepare_record -> _work/units/u-N/part-*.parquet
                                     (unit-local _idx) + a count marker
                                     (driver) counts only -> global _idx offsets and the local engine's
                                     shard boundaries (records_per_shard over the units in plan order)
                                     (Spark)  one task per input shard: slices of the unit pieces,
                                     _idx shifted -> _work/input/part-N.parquet, byte-identical to
                                     shard_work.write_input_shards
    phase B  dedup         (Spark)   input shards ──mapInPandas──▶ digest, keep-rank columns, 16 LSH band keys
                                     exact:  Window(partitionBy digest, orderBy rank) -> keeper = row 1
                                     fuzzy:  posexplode(band keys) -> groupBy(band, key) -> buckets of 2+
                                             -> shingle sets of bucketed units (mapInPandas)
                                     (driver) fuzzy_dedup.resolve over the buckets only (the greedy keep
                                             rule, verified Jaccard) -> removed units -> decisions
    phase C  shards        (Spark)   one task per input shard: shard_work.shard_task (transforms, rules,
                                     sampling, decontamination), writing kept/ rejected/ ... part-N
    phase D  merge         (driver)  shard_work.finish: funnel, attribution, report

The outputs are byte-identical to the local engine's (test_engine_parity): the input shards have the
same boundaries, order and ``_idx`` values; exact groups, band keys, buckets and the resolution are
the same functions on the same values; only where they run differs. Outputs must be on storage every
executor can reach (a local path in ``local[*]``, ``s3://`` on a cluster). Resume works as locally:
phase markers, per-unit and per-shard markers under ``_work/``.

What it does NOT do: split one source unit: a single large JSONL/Parquet file or archive is read by
one task (give many files to read in parallel), and phase A writes the prepared records twice (unit
pieces, then input shards). The driver holds unit counts, bucket members, their ranks and shingle
sets only. ``pyspark`` is imported only here, and only when the engine runs (extra ``opc-data[spark]``).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import numpy as np

from opc_core import storage
from opc_core.stage import StageContext
from opc_data.config import DataConfig
from opc_data.funnel_report import report_header
from opc_data.shard_work import (
    finish,
    read_decisions,
    shard_indices,
    shard_task,
    stats_uri,
    work_uri,
    write_decisions,
)

log = logging.getLogger("opc.data.spark")

# the keep rule's rank (exact_dedup.keep_rank) as columns: files with stars first, most stars, files with a
# commit date first, newest commit; then repo_name, path, digest break ties
_RANK = ("no_stars", "neg_stars", "no_date", "neg_commit_time")
_FEATURES = ("_idx long, digest string, no_stars int, neg_stars double, no_date int, neg_commit_time double, "
             "repo_name string, path string, "
             "band_keys array<bigint>")


def spark_session(master: str = "local[*]", conf: dict[str, str] | None = None):
    """A SparkSession (the active one if any); workers run this interpreter."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - depends on the install
        from opc_core.errors import OpcError

        raise OpcError("the Spark engine needs pyspark", hint="pip install 'opc-data[spark]'") from exc
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = SparkSession.builder.master(master).appName("opc-data")
    defaults = {"spark.sql.execution.arrow.pyspark.enabled": "true"}
    if master.startswith("local"):  # 200 shuffle partitions = 200 Python tasks per shuffle on a laptop
        defaults["spark.sql.shuffle.partitions"] = str(2 * (os.cpu_count() or 2))
    for key, value in {**defaults, **(conf or {})}.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _features(batches, dedup_json: str):
    """Per partition: exact key, keep-rank columns and LSH band keys of each eligible record."""
    import pandas as pd

    from opc_data.dedup import DedupConfig, record_band_keys
    from opc_data.exact_dedup import exact_key, keep_rank

    cfg = DedupConfig.model_validate_json(dedup_json)
    columns = ["_idx", "digest", *_RANK, "repo_name", "path", "band_keys"]
    for pdf in batches:
        out = []
        for rec in pdf.to_dict("records"):
            rec = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in rec.items()}
            idx = int(rec["_idx"])
            digest = exact_key(rec, idx).hex()
            rank = keep_rank(rec, digest)
            keys = record_band_keys(rec, cfg) if cfg.fuzzy else None
            out.append([idx, digest, rank[0], rank[1], rank[2], rank[3], rank[4], rank[5], keys])
        yield pd.DataFrame(out, columns=columns)


def _shingles(batches, dedup_json: str, needed: set[int]):
    """Per partition: the shingle set (as int64) of each record whose unit is in an LSH bucket."""
    import pandas as pd

    from opc_data.dedup import DedupConfig, record_shingles

    cfg = DedupConfig.model_validate_json(dedup_json)
    for pdf in batches:
        out = []
        for rec in pdf.to_dict("records"):
            if int(rec["_idx"]) in needed:
                out.append([int(rec["_idx"]), record_shingles(rec, cfg).view(np.int64).tolist()])
        yield pd.DataFrame(out, columns=["_idx", "shingles"])


def _unit_dir(out: str, n: int) -> str:
    return work_uri(out, "units", f"u-{n:06d}")


def read_unit_task(out: str, n: int, unit, config_json: str) -> dict[str, Any]:
    """Phase A on an executor: read one unit, prepare its records (unit-local ``_idx``), write pieces.

    Pieces are ``records_per_shard`` rows (memory: one piece), LZ4-compressed (temporary files, read
    once: cheaper to write and read than zstd); the marker written last lists them with their row
    counts. An ingest error comes back as data so the driver raises it with its hint.
    """
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    from opc_core import dataset
    from opc_core.errors import OpcError
    from opc_data.ingest import read_unit
    from opc_data.schemas import PREPARED_SCHEMA
    from opc_data.steps import prepare_record

    config = DataConfig.model_validate_json(config_json)
    per = config.engine.records_per_shard
    directory = _unit_dir(out, n)
    storage.makedirs(directory)
    pieces: list[list[Any]] = []
    rows: list[dict[str, Any]] = []

    def flush() -> None:
        buf = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(rows, schema=PREPARED_SCHEMA), buf, compression="lz4")
        name = dataset.shard_name(len(pieces))
        storage.write_bytes_atomic(storage.join(directory, name), buf.getvalue())
        pieces.append([name, len(rows)])
        rows.clear()

    count = 0
    try:
        for record in read_unit(unit, config.ingest):
            rows.append(prepare_record(record, count, config))
            count += 1
            if len(rows) >= per:
                flush()
        if rows:
            flush()
    except OpcError as exc:
        return {"error": exc.message, "where": exc.where or unit.label, "hint": exc.hint}
    marker = {"unit": n, "label": unit.label, "records": count, "pieces": pieces}
    storage.write_json_atomic(directory + ".json", marker)
    return marker


def plan_input_shards(counts: list[int], per: int) -> list[tuple[int, int, list[tuple[int, int, int, int]]]]:
    """The local engine's shard boundaries from unit counts alone (no record read on the driver).

    Records are numbered in unit order; shard k holds global ``_idx`` [k*per, (k+1)*per). Returns
    (k, first _idx, [(unit, piece, start row, stop row) ...]) per shard; pieces hold ``per`` rows.
    """
    total = sum(counts)
    shards: list[tuple[int, int, list[tuple[int, int, int, int]]]] = [
        (k, k * per, []) for k in range(-(-total // per))]
    unit_start = 0
    for unit, count in enumerate(counts):
        for piece, p0 in enumerate(range(0, count, per)):
            rows, a = min(per, count - p0), 0
            while a < rows:  # a piece spans at most two shards (both hold ``per`` rows)
                g = unit_start + p0 + a
                b = min(rows, (g // per + 1) * per - unit_start - p0)
                shards[g // per][2].append((unit, piece, a, b))
                a = b
        unit_start += count
    return shards


def write_input_shard_task(out: str, shard: tuple[int, int, list[tuple[int, int, int, int]]],
                           pieces: dict[int, list[str]]) -> int:
    """Phase A on an executor: one input shard from slices of unit pieces, ``_idx`` made global."""

    import pyarrow as pa

    from opc_core import dataset
    from opc_data.schemas import PREPARED_SCHEMA

    k, first, slices = shard
    parts = []
    for unit, piece, a, b in slices:
        uri = storage.join(_unit_dir(out, unit), pieces[unit][piece])
        table = dataset.read_file(uri).cast(PREPARED_SCHEMA)
        parts.append(table.slice(a, b - a))
    table = pa.concat_tables(parts).combine_chunks()
    table = table.set_column(0, PREPARED_SCHEMA.field("_idx"),
                             pa.array(np.arange(first, first + table.num_rows, dtype=np.int64)))
    dataset.write_table(work_uri(out, "input", dataset.shard_name(k)), table)
    return table.num_rows


def _slices(sc, jobs: int) -> int:
    """Partitions for ``jobs`` independent jobs: one each up to 4 per core (a Python task costs ~0.1 s)."""
    return max(1, min(jobs, 4 * sc.defaultParallelism))


def spark_input_shards(spark, config: DataConfig, out: str, previous=None, data_key: str = "") -> dict[str, Any]:
    """Phase A with one Spark task per (new) source unit; returns the same marker as the local engine."""
    from opc_core import dataset
    from opc_core.errors import OpcError
    from opc_data.incremental import select_units

    done_uri = work_uri(out, "input", "_DONE.json")
    if storage.exists(done_uri):
        return storage.read_json(done_uri)
    units, unit_info = select_units(config, previous, data_key)
    config_json = config.model_dump_json()
    todo = [(n, u) for n, u in enumerate(units) if not storage.exists(_unit_dir(out, n) + ".json")]
    log.info("spark: reading %d/%d source units", len(todo), len(units))
    sc = spark.sparkContext
    if todo:
        task = read_unit_task
        results = sc.parallelize(todo, _slices(sc, len(todo))).map(
            lambda job: task(out, job[0], job[1], config_json)).collect()
        for r in results:
            if "error" in r:
                raise OpcError(r["error"], where=r["where"], hint=r["hint"])
    markers = [storage.read_json(_unit_dir(out, n) + ".json") for n in range(len(units))]
    per = config.engine.records_per_shard
    plan = plan_input_shards([m["records"] for m in markers], per)
    pieces = {m["unit"]: [p[0] for p in m["pieces"]] for m in markers}
    storage.makedirs(work_uri(out, "input"))
    if plan:
        shard_task = write_input_shard_task
        sc.parallelize(plan, _slices(sc, len(plan))).map(lambda shard: shard_task(out, shard, pieces)).collect()
    total = sum(m["records"] for m in markers)
    marker = {"records": total, "shards": [dataset.shard_name(k) for k, _, _ in plan],
              "sources": sorted({u.label for u in units}), **unit_info}
    storage.write_json_atomic(done_uri, marker)
    storage.remove(work_uri(out, "units"))
    return marker


def _write_keys_group(pdf, out: str, per: int):
    """One input shard's dedup keys (a groupBy shard group) -> ``_work/keys/part-N.parquet``."""
    import pandas as pd

    from opc_data.shard_work import write_keys

    items = [(int(i), bytes.fromhex(d), None if k is None else [int(x) for x in k])
             for i, d, k in zip(pdf["_idx"], pdf["digest"], pdf["band_keys"], strict=True)]
    write_keys(out, per, items)
    return pd.DataFrame({"n": [len(items)]})


def spark_dedup(spark, input_uri: str, config: DataConfig,
                keys_out: str | None = None) -> tuple[dict[int, tuple[str, str | None, str | None]], dict]:
    """Global exact + fuzzy dedup of the eligible input rows with Spark; returns (decisions, stats).

    ``keys_out``: the stage output whose ``_work/keys/`` gets the eligible records' dedup keys (as the
    local engine writes them)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from opc_data import lsh
    from opc_data.fuzzy_dedup import resolve

    dcfg = config.dedup
    dedup_json = dcfg.model_dump_json()
    bands, rows = dcfg.lsh_params()
    if dcfg.fuzzy:
        lsh.log_s_curve(bands, rows)
    if dcfg.level != "file":
        from opc_core.errors import OpcError

        raise OpcError("the Spark engine dedups at file level only", hint="set dedup.level: file or engine.kind: local")
    path = _spark_path(input_uri)
    raw = spark.read.parquet(path).where(F.col("quarantine_reason").isNull() & F.col("license_reason").isNull())
    feat = raw.mapInPandas(lambda it: _features(it, dedup_json), _FEATURES).cache()
    order = [*_RANK, "repo_name", "path", "_idx"]
    ranked = feat.withColumn("rn", F.row_number().over(Window.partitionBy("digest").orderBy(*order)))
    keepers = ranked.where("rn = 1").select(
        "digest", F.col("_idx").alias("k_idx"), F.col("repo_name").alias("k_repo"), F.col("path").alias("k_path"),
        *_RANK, "band_keys").cache()
    exact_removed = (ranked.where("rn > 1").select("_idx", "digest")
                     .join(keepers.select("digest", "k_repo", "k_path"), "digest").collect())
    n_records = feat.count()
    if keys_out is not None:
        per = config.engine.records_per_shard
        (feat.select("_idx", "digest", "band_keys").withColumn("shard", F.floor(F.col("_idx") / per))
         .groupBy("shard").applyInPandas(lambda pdf: _write_keys_group(pdf, keys_out, per), "n long").collect())
    log.info("spark: %d eligible records, %d exact duplicates", n_records, len(exact_removed))

    removed_units: dict[int, tuple[int, float | None]] = {}
    outcome = None
    if dcfg.fuzzy:
        exploded = keepers.where(F.col("band_keys").isNotNull()).select(
            "k_idx", F.posexplode("band_keys").alias("band", "key"))
        buckets = [np.array(r["members"], dtype=np.int64) for r in (
            exploded.groupBy("band", "key").agg(F.sort_array(F.collect_list("k_idx")).alias("members"))
            .where(F.size("members") >= 2).select("members").collect())]
        needed = {int(u) for b in buckets for u in b}
        ranks: dict[int, tuple] = {}
        sets: dict[int, np.ndarray] = {}
        if needed:
            for r in keepers.where(F.col("k_idx").isin(list(needed))).collect():
                ranks[int(r["k_idx"])] = (*(r[c] for c in _RANK), r["k_repo"], r["k_path"], r["digest"])
            if dcfg.verify:
                shingled = raw.mapInPandas(lambda it: _shingles(it, dedup_json, needed), "_idx long, shingles array<bigint>")
                for r in shingled.collect():
                    sets[int(r["_idx"])] = np.array(r["shingles"], dtype=np.int64).view(np.uint64)
        outcome = resolve(buckets, ranks.__getitem__, sets.__getitem__ if dcfg.verify else None, dcfg.verify_threshold)
        removed_units = outcome.removed
        log.info("spark fuzzy dedup: %d units in %d LSH buckets, %d pairs verified, %d rejected, %d units removed",
                 outcome.candidate_units, outcome.buckets, outcome.checked_pairs, outcome.rejected_pairs,
                 len(removed_units))

    decisions: dict[int, tuple[str, str | None, str | None]] = {}
    if removed_units:
        units = set(removed_units) | {k for k, _ in removed_units.values()}
        unit_rows = {int(r["k_idx"]): r for r in keepers.where(F.col("k_idx").isin(list(units)))
                     .select("k_idx", "digest", "k_repo", "k_path").collect()}
        removed_digests = {unit_rows[u]["digest"]: unit_rows[k] for u, (k, _) in removed_units.items()}
        for r in feat.where(F.col("digest").isin(list(removed_digests))).select("_idx", "digest").collect():
            target = removed_digests[r["digest"]]
            decisions[int(r["_idx"])] = ("fuzzy", target["k_repo"], target["k_path"])
    exact_n = 0
    for r in exact_removed:
        if int(r["_idx"]) not in decisions:
            decisions[int(r["_idx"])] = ("exact", r["k_repo"], r["k_path"])
            exact_n += 1
    feat.unpersist()
    keepers.unpersist()
    stats = _stats(n_records, decisions, exact_n, outcome, dcfg, bands, rows)
    return decisions, stats


def _stats(n_records: int, decisions: dict, exact_n: int, outcome, dcfg, bands: int, rows: int) -> dict[str, Any]:
    """The same statistics the local ``deduplicate`` reports (cluster sizes from the pointers)."""
    from collections import Counter

    from opc_data import lsh

    pointers = Counter((d[1], d[2]) for d in decisions.values())
    kept = n_records - len(decisions)
    sizes = Counter(1 + n for n in pointers.values())
    sizes[1] += kept - len(pointers)
    return {
        "kept": kept, "exact_removed": exact_n, "fuzzy_removed": len(decisions) - exact_n,
        "cluster_size_histogram": {str(k): sizes[k] for k in sorted(sizes) if sizes[k]},
        "records": n_records, "level": dcfg.level, "bands": bands, "rows": rows, "num_perm": dcfg.num_perm,
        "verify": dcfg.verify, "verify_threshold": dcfg.verify_threshold, "engine": "spark",
        "lsh_candidate_units": outcome.candidate_units if outcome else 0,
        "lsh_buckets": outcome.buckets if outcome else 0,
        "candidate_pairs": outcome.checked_pairs if outcome else 0,
        "verification_rejected": outcome.rejected_pairs if outcome else 0,
        "s_curve": [list(p) for p in lsh.s_curve(bands, rows, dcfg.s_curve_points)],
    }


def _spark_path(uri: str) -> str:
    """Spark's spelling of a storage URI (s3a:// for S3, with the endpoint from the environment)."""
    return "s3a://" + uri[len("s3://"):] if uri.startswith("s3://") else uri


def run_spark(config: DataConfig, ctx: StageContext) -> dict[str, Any]:
    """Phases A-D with Spark for dedup and the per-shard work (module doc)."""
    out = ctx.output_uri
    spark = spark_session(config.engine.spark_master, config.engine.spark_conf)
    marker = spark_input_shards(spark, config, out, ctx.previous, ctx.key)
    dedup_uri = work_uri(out, "dedup.parquet")
    dedup_stats_uri = work_uri(out, "dedup_stats.json")
    if storage.exists(dedup_uri) and storage.exists(dedup_stats_uri):
        decisions, dedup_stats = read_decisions(dedup_uri), storage.read_json(dedup_stats_uri)
    else:
        log.info("spark: dedup of %d records", marker["records"])
        decisions, dedup_stats = spark_dedup(spark, work_uri(out, "input"), config, keys_out=out)
        if ctx.previous is not None:
            from opc_data.incremental import check_previous

            decisions, dedup_stats = check_previous(config, work_uri(out), ctx.previous, decisions,
                                                        dedup_stats)
        write_decisions(dedup_uri, decisions)
        storage.write_json_atomic(dedup_stats_uri, dedup_stats)
    todo = [s for s in marker["shards"] if not storage.exists(stats_uri(out, s))]
    jobs = []
    for shard in todo:
        idxs = shard_indices(out, shard)
        jobs.append((shard, {i: decisions[i] for i in idxs if i in decisions}))
    log.info("spark: %d/%d shards to process", len(jobs), len(marker["shards"]))
    if jobs:
        config_json, seed = config.model_dump_json(), ctx.seed
        task = shard_task
        spark.sparkContext.parallelize(jobs, len(jobs)).map(
            lambda job: task(out, job[0], job[1], config_json, seed)["records"]).collect()
    shard_stats = [storage.read_json(stats_uri(out, s)) for s in marker["shards"]]
    result = finish(config, out, shard_stats, dedup_stats, marker["records"], header=report_header(ctx))
    result.update(sources=marker["sources"], units=marker["units"], units_total=marker["units_total"],
                  units_skipped=marker["units_skipped"])
    storage.remove(storage.join(out, "_work"))
    return result
