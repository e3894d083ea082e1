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
    attribution.json            repositories, licences, file counts of the kept files
    decontamination.json        which benchmark item hit which file, by which matcher, with the deciding score
    report/funnel.html + *.png  the funnel (funnel_report.py), with one before/after sample per transform kind
    report/transform_samples.json  those samples (transforms.py)

Design decisions:
- **Rules see the raw content** by default (``filter_content: raw``), as the reference pipeline did,
  so keep/drop agrees with the paper's filter and ``opc data filter``; the transforms rewrite what
  is shipped. ``filter_content: transformed`` is the alternative.
- **Resume per shard**: input records are cut into shards (``engine.records_per_shard``); a shard's
  outputs are written, then its ``_work/stats/part-N.json`` marker. A crashed run (no manifest)
  rerun with the same key skips phases and shards whose markers exist.
- The per-record work (``prepare_record``, ``process_shard``) is plain functions over dicts; the
  local engine (``local_engine.py``) and the Spark engine (``spark_engine.py``) both call them.

What it does NOT do: read another stage's outputs (it is the first stage), or import pyspark
(only ``spark_engine`` does, and only when ``engine.kind`` is spark).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa

from opc_core.manifest import Counts
from opc_core.stage import StageContext, StageResult, StageSpec
from opc_data.config import DataConfig
from opc_data.records import quarantine_reason_of

OUTPUT_FIELDS: tuple[str, ...] = (
    "repo_name", "path", "content", "program_lang", "doc_type", "license", "blob_id", "size", "stars",
    "commit_date", "commit_sha", "src_encoding", "source",
)
_BASE = [
    pa.field("repo_name", pa.string()), pa.field("path", pa.string()), pa.field("content", pa.string()),
    pa.field("program_lang", pa.string()), pa.field("doc_type", pa.string()), pa.field("license", pa.string()),
    pa.field("blob_id", pa.string()), pa.field("size", pa.int64()), pa.field("stars", pa.int64()),
    pa.field("commit_date", pa.string()), pa.field("commit_sha", pa.string()),
    pa.field("src_encoding", pa.string()), pa.field("source", pa.string()),
]
KEPT_SCHEMA = pa.schema(_BASE)
REJECTED_SCHEMA = pa.schema([
    *_BASE, pa.field("reject_reason", pa.string()), pa.field("rules_fired", pa.list_(pa.string())),
    pa.field("duplicate_of_repo_name", pa.string()), pa.field("duplicate_of_path", pa.string()),
])
QUARANTINED_SCHEMA = pa.schema([*_BASE, pa.field("is_binary", pa.bool_()), pa.field("error", pa.string())])
# input shards: the raw record plus what the cheap first pass decided
PREPARED_SCHEMA = pa.schema([
    pa.field("_idx", pa.int64()), *_BASE, pa.field("is_binary", pa.bool_()),
    pa.field("quarantine_reason", pa.string()), pa.field("license_reason", pa.string()),
])


# ---- per-record functions (both engines) ------------------------------------------------------------

def prepare_record(record: dict[str, Any], idx: int, config: DataConfig) -> dict[str, Any]:
    """Language id and licence verdict for one raw record (cheap; no content analysis)."""
    from opc_data.langid import identify
    from opc_data.licenses import license_verdict

    program_lang, doc_type = identify(record.get("path") or "")
    quarantine = quarantine_reason_of(record)
    row = {k: record.get(k) for k in OUTPUT_FIELDS}
    row.update(_idx=idx, program_lang=program_lang, doc_type=doc_type, is_binary=bool(record.get("is_binary")),
               quarantine_reason=quarantine, size=int(record.get("size") or 0),
               content=record.get("content") or "")
    row["stars"] = None if record.get("stars") is None else int(record["stars"])
    row["license_reason"] = None if quarantine else license_verdict(record.get("license"), config.licenses)
    return row


def dedup_eligible(row: dict[str, Any]) -> bool:
    """Records that reach dedup: not quarantined and allowed by the licence policy."""
    return row.get("quarantine_reason") is None and row.get("license_reason") is None


class _Workers:
    """Per-process objects built once: the PII redactor, the benchmark index, the rule filter."""

    _cache: dict[str, Any] = {}

    @classmethod
    def get(cls, config: DataConfig) -> dict[str, Any]:
        key = config.model_dump_json()
        if key not in cls._cache:
            from opc_data.decontamination import Decontaminator
            from opc_data.filtering import RecordFilter
            from opc_data.pii import PiiRedactor

            cls._cache.clear()
            cls._cache[key] = {
                "pii": PiiRedactor(config.transforms.pii),
                "decon": Decontaminator(config.decontamination) if config.decontamination.enabled else None,
                "filter": RecordFilter(config.filter),
            }
        return cls._cache[key]


def process_shard(rows: Iterable[dict[str, Any]], decisions: dict[int, tuple[str, str | None, str | None]],
                  config: DataConfig, seed: int) -> dict[str, Any]:
    """Everything after dedup for one shard of prepared rows.

    ``decisions`` maps ``_idx`` of a removed duplicate to (dup_kind, kept repo_name, kept path).
    Returns the kept / rejected / quarantined / signals rows, the shard's funnel counts and the
    decontamination hits; every row goes to exactly one of kept / rejected / quarantined.
    """
    from opc_data.encoding import reason_code
    from opc_data.filtering import SIGNAL_COLUMNS
    from opc_data.funnel_report import FunnelCounter
    from opc_data.sampling import sampling_reason
    from opc_data.transforms import apply_transforms, merge_samples

    tools = _Workers.get(config)
    pii, decon, rule_filter = tools["pii"], tools["decon"], tools["filter"]
    if decon is not None:
        decon.hits = []
    funnel = FunnelCounter()
    kept: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    quarantined: list[dict[str, Any]] = []
    signals: list[dict[str, Any]] = []
    samples: dict[str, dict[str, Any]] = {}  # transform kind -> before/after of its first file (by repo, path)

    def reject(row: dict[str, Any], step: str, reason: str, fired: list[str] | None = None,
               dup: tuple[str, str | None, str | None] | None = None) -> None:
        out = {k: row.get(k) for k in OUTPUT_FIELDS}
        out.update(reject_reason=reason, rules_fired=fired or [],
                   duplicate_of_repo_name=dup[1] if dup else None, duplicate_of_path=dup[2] if dup else None)
        rejected.append(out)
        funnel.removed(step, reason, row["size"])

    for row in rows:
        lang, size = row.get("program_lang") or "unknown", int(row.get("size") or 0)
        funnel.seen(lang, size)
        if row.get("quarantine_reason"):
            out = {k: row.get(k) for k in OUTPUT_FIELDS}
            out.update(is_binary=bool(row.get("is_binary")), error=row["quarantine_reason"])
            quarantined.append(out)
            funnel.removed("quarantine", "quarantine", size)
            funnel.count("quarantine", reason_code(row["quarantine_reason"]) or "other")
            continue
        if row.get("license_reason"):
            reject(row, "license", row["license_reason"])
            continue
        dup = decisions.get(int(row["_idx"]))
        if dup is not None:
            funnel.count("dedup_kinds", dup[0])
            reject(row, "dedup", f"dedup:{dup[0]}", dup=dup)
            continue
        raw = row["content"]
        done = apply_transforms(raw, lang, config.transforms.copyright, pii, samples=True)
        content = done.content
        for kind, n in done.counts.items():
            funnel.count("transforms", kind, n)
        merge_samples(samples, {kind: {"repo_name": row.get("repo_name"), "path": row.get("path"), **sample}
                                for kind, sample in done.samples.items()})
        row = {**row, "content": content}
        frow = rule_filter.filter_record({**row, "content": raw if config.filter_content == "raw" else content})
        if config.store_signals and frow.get("scope") is not None:
            signals.append({"repo_name": row["repo_name"], "path": row["path"], "blob_id": row["blob_id"],
                            "program_lang": frow["program_lang"], "doc_type": frow["doc_type"],
                            "lang": frow["lang"], "scope": frow["scope"], "keep": frow["keep"],
                            "rules_fired": list(frow["rules_fired"]),
                            **{c: frow.get(c) for c in SIGNAL_COLUMNS}})
        if not frow["keep"]:
            reason = (frow.get("reject_reason") or "rules").replace(": ", ":")
            for rule in frow["rules_fired"]:
                funnel.count("rules", rule)
            reject(row, "filter", reason, list(frow["rules_fired"]))
            continue
        why = sampling_reason(lang, row["blob_id"] or "", config.sampling, seed)
        if why:
            reject(row, "sampling", why)
            continue
        if decon is not None:
            why = decon.reason(content, row)
            if why:
                reject(row, "decontamination", why)
                continue
        kept.append({k: row.get(k) for k in OUTPUT_FIELDS})
        funnel.kept(lang, size, len(content.encode("utf-8", "surrogatepass")))
    return {"kept": kept, "rejected": rejected, "quarantined": quarantined, "signals": signals,
            "funnel": funnel.data, "decontamination_hits": list(decon.hits) if decon is not None else [],
            "transform_samples": samples}


def signals_schema() -> pa.Schema:
    from opc_data.filtering import SIGNAL_COLUMNS

    return pa.schema([
        pa.field("repo_name", pa.string()), pa.field("path", pa.string()), pa.field("blob_id", pa.string()),
        pa.field("program_lang", pa.string()), pa.field("doc_type", pa.string()), pa.field("lang", pa.string()),
        pa.field("scope", pa.string()), pa.field("keep", pa.bool_()), pa.field("rules_fired", pa.list_(pa.string())),
        *[pa.field(c, pa.float64()) for c in SIGNAL_COLUMNS],
    ])


def dedup_decisions(rows: Iterable[dict[str, Any]], idxs: Iterator[int]) -> dict[int, tuple[str, str | None, str | None]]:
    """Removed records only: ``_idx`` -> (dup_kind, kept repo_name, kept path), from ``deduplicate`` rows."""
    out: dict[int, tuple[str, str | None, str | None]] = {}
    for row, idx in zip(rows, idxs, strict=True):
        if not row["keep"]:
            out[idx] = (row["dup_kind"], row["duplicate_of_repo_name"], row["duplicate_of_path"])
    return out


# ---- the stage ---------------------------------------------------------------------------------------

def run(config: DataConfig, ctx: StageContext) -> StageResult:
    """Run the data stage on the configured engine and summarise the funnel."""
    from opc_data.funnel_report import format_table

    if config.engine.kind == "spark":
        from opc_data.spark_engine import run_spark

        result = run_spark(config, ctx)
    else:
        from opc_data.local_engine import run_local

        result = run_local(config, ctx)
    _refuse_empty(config, ctx, result)
    funnel = result["funnel"]
    counts = Counts(**{"in": result["records_in"]}, kept=result["kept"], rejected=result["rejected"],
                    quarantined=result["quarantined"])
    table = format_table(funnel)
    ctx.log.info("data funnel:\n%s", table)
    metrics = {"funnel": funnel, "dedup": result["dedup_stats"], "decontamination": result["decontamination"],
               "engine": config.engine.kind}
    removed = ", ".join(f"-{s['removed_files']} {s['step']}" for s in funnel["steps"] if s["removed_files"])
    summary = f"{funnel['steps'][-1]['files']} files kept ({removed or 'nothing removed'})"
    return StageResult(counts=counts, metrics=metrics, sources=result["sources"], summary=summary)


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
    description="RefineCode: ingest, dedup, transforms, OpenCoder rules, sampling, decontamination",
)
