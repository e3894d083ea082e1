"""The ``data`` stage: raw code dumps -> the RefineCode corpus (kept / rejected / quarantined).

    ingest ──▶ quarantine ──▶ langid ──▶ licence ──▶ exact+fuzzy dedup ──▶ transforms ──▶ rules ──▶ sampling ──▶ decontamination
    (read)    (binary, undecodable,     (policy)    (global: the only     (copyright,    (signals  (per-lang   (HumanEval + MBPP +
               oversize, malformed)                  cross-shard step)     PII; parse-    on raw)   rate)       configured benchmarks)
                                                                           guarded)

Outputs under ``ctx.output_uri`` (docs/interfaces.md):

    kept/part-*.parquet         repo_name, path, content (transformed), program_lang, doc_type, license, blob_id, size, stars, ...
    rejected/part-*.parquet     + reject_reason (license:<id> | dedup:exact | dedup:fuzzy | rules | doc_type:<t> |
                                  sampling:<lang> | decontamination:<benchmark>/<task_id>), rules_fired, duplicate_of_*
    quarantined/part-*.parquet  + error (the ingest's quarantine reason)
    signals/part-*.parquet      every signal column of every record that reached the rules (re-decide without recompute)
    attribution.json            repositories, licences, file counts of the kept files (extending: of every
                                version's kept files; attribution_new.json: of this one's)
    decontamination.json        which benchmark item hit which file, by which matcher, with the deciding score
    report/funnel.html + *.png  the funnel (funnel_report.py), with one before/after sample per transform kind
    report/transform_samples.json  those samples (transforms.py)
    ingested_units.json         the source units read so far (cumulative over versions): label, kind, stamp, data_key
    dedup_index/part-*.parquet  one row per record kept here: repo_name, path, digest, band_keys, kept_file

Incremental runs (``incremental.py``; ``STAGE.extends``): in a retrain the runner passes the previous
version's data output as the ``previous`` input (``ctx.previous``, part of the key). Phase A then reads
only the source units whose (label, stamp) that output has not ingested, and phase B, after the usual
within-dump dedup, removes the survivors that duplicate (exact digest, or verified LSH candidate) a
record kept by the previous output or any version before it, pointing at that old file. Manifest:
``metrics.incremental`` (absent in a plain run), artifacts ``kept``, ``dedup_index``, ``units``.

Design decisions:
- **Rules see the raw content** by default (``filter_content: raw``), as the reference pipeline did,
  so keep/drop agrees with the paper's filter and ``opc data filter``; the transforms rewrite what
  is shipped. ``filter_content: transformed`` is the alternative.
- **Resume per shard**: input records are cut into shards (``engine.records_per_shard``); a shard's
  outputs are written, then its ``_work/stats/part-N.json`` marker. A crashed run (no manifest)
  rerun with the same key skips phases and shards whose markers exist.
- The per-record work is a list of small steps (``steps.py``: quarantine, licence, dedup, transforms,
  rules, sampling, decontamination), each counting what it did; the phases around it (``shard_work.py``)
  are shared by the two executors, ``local_engine.py`` (a process pool) and ``spark_engine.py``.

What it does NOT do: read another stage's outputs (it is the first stage; it reads only its own previous
versions' outputs when extending), or import pyspark
(only ``spark_engine`` does, and only when ``engine.kind`` is spark).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opc_core.manifest import Counts
from opc_core.stage import StageContext, StageResult, StageSpec
from opc_data.config import DataConfig

# An engine executes the shard_work phases and the steps; both return the same result dict from the same
# inputs (test_engine_parity). Imported on use: pyspark loads only when the spark engine runs.
Engine = Callable[[DataConfig, StageContext], dict[str, Any]]


def engine(kind: str) -> Engine:
    if kind == "spark":
        from opc_data.spark_engine import run_spark

        return run_spark
    from opc_data.local_engine import run_local

    return run_local


def run(config: DataConfig, ctx: StageContext) -> StageResult:
    """Run the data stage on the configured engine and summarise the funnel."""
    from opc_core import storage
    from opc_data.funnel_report import format_table
    from opc_data.incremental import ARTIFACTS, UNITS_FILE, cumulative_units

    result = engine(config.engine.kind)(config, ctx)
    _refuse_empty(config, ctx, result)
    storage.write_json_atomic(storage.join(ctx.output_uri, UNITS_FILE),
                              cumulative_units(ctx.previous, result["units"]))
    if ctx.previous is not None:
        _cumulative_attribution(ctx)
    funnel = result["funnel"]
    counts = Counts(**{"in": result["records_in"]}, kept=result["kept"], rejected=result["rejected"],
                    quarantined=result["quarantined"])
    table = format_table(funnel)
    ctx.log.info("data funnel:\n%s", table)
    metrics = {"funnel": funnel, "dedup": result["dedup_stats"], "decontamination": result["decontamination"],
               "engine": config.engine.kind}
    removed = ", ".join(f"-{s['removed_files']} {s['step']}" for s in funnel["steps"] if s["removed_files"])
    summary = f"{funnel['steps'][-1]['files']} files kept ({removed or 'nothing removed'})"
    if ctx.previous is not None:
        d = result["dedup_stats"]
        inc = metrics["incremental"] = {
            "previous_key": ctx.previous.key, "units_total": result["units_total"],
            "units_new": len(result["units"]), "units_skipped": result["units_skipped"],
            "index_records": d.get("previous_index_records", 0),
            "exact_removed": d.get("previous_exact_removed", 0), "fuzzy_removed": d.get("previous_fuzzy_removed", 0)}
        summary += (f"; extends {inc['previous_key'][:12]}: {inc['units_new']} new of {inc['units_total']} source "
                    f"units, {inc['exact_removed']} exact + {inc['fuzzy_removed']} fuzzy copies of "
                    f"{inc['index_records']} files kept before removed")
    return StageResult(counts=counts, metrics=metrics, sources=result["sources"], summary=summary,
                       artifacts=dict(ARTIFACTS))


def _cumulative_attribution(ctx: StageContext) -> None:
    """An extending output's ``attribution.json`` covers every version's kept files (a model continued on this
    corpus was trained on all of them, and the release ships this file); ``attribution_new.json`` keeps the
    new files' part."""
    from opc_core import storage
    from opc_data.licenses import Attribution

    here = storage.join(ctx.output_uri, "attribution.json")
    new = storage.read_json(here)
    storage.write_json_atomic(storage.join(ctx.output_uri, "attribution_new.json"), new)
    before = storage.read_json(storage.join(ctx.previous.uri, "attribution.json"))
    merged = Attribution.from_dict(before).merge(Attribution.from_dict(new)).to_dict()
    storage.write_json_atomic(here, merged)


def _refuse_empty(config: DataConfig, ctx: StageContext, result: dict[str, Any]) -> None:
    """No record in, or none kept: refuse (no manifest) rather than hand tokenize an empty corpus."""
    from opc_core.errors import OpcError

    if config.allow_empty:
        return
    sources = ", ".join(getattr(s, "uri", None) or f"{s.kind} {getattr(s, 'distributions', '')}"
                        for s in config.ingest.sources) or "no sources configured"
    if result["records_in"] == 0:
        raise OpcError(f"the input has no records (read from: {sources})", where="stages.data.ingest.sources",
                       hint="check the source paths/globs and formats, or set stages.data.allow_empty: true")
    if result["kept"] == 0:
        raise OpcError(
            f"no record was kept: all {result['records_in']} were removed ({result['rejected']} rejected, "
            f"{result['quarantined']} quarantined)", where=ctx.output_uri,
            hint="see rejected/ and quarantined/ there for the rules and errors, loosen the filters, or set "
                 "stages.data.allow_empty: true")


def _pending(config: DataConfig, previous) -> int:
    from opc_data.incremental import pending_units

    return pending_units(config, previous)


def _external_fingerprint(config: DataConfig) -> str:
    from opc_data.ingest import external_fingerprint

    return external_fingerprint(config.ingest)


STAGE = StageSpec(
    name="data",
    config_model=DataConfig,
    run=run,
    inputs={},
    code_modules=("opc_data",),
    external_fingerprint=_external_fingerprint,
    volatile=("report/*",),
    extends=True,
    pending=_pending,
    description="RefineCode: ingest, dedup, transforms, OpenCoder rules, sampling, decontamination",
)
