"""The ``recall`` stage: a pool of web pages -> code-related web text, in the data stage's schema.

    pool sources ──ingest──▶ _work/input/part-N ─────────────────────────────────────────┐
    seeds (labels, positives, negatives) + GitHub text (data stage, doc_type == text)    │
        └─▶ BPE ─▶ domain-grouped CV + iterations on a seeded pool sample ─▶ models/iter-N.bin
                                                                            │             │
                              engine (local processes | Spark): score every input shard ◀─┘
                              ─▶ kept/ rejected/ quarantined/  (+ decontamination of recalled text)

Outputs under ``ctx.output_uri`` (docs/interfaces.md):

    kept/part-*.parquet          content, repo_name (= registered domain), path (= URL), doc_type "web",
                                 program_lang (= natural language), url, domain, title, score, iteration, ...
    rejected/part-*.parquet      + reject_reason: score | empty_text | decontamination:<benchmark>/<task_id>
    quarantined/part-*.parquet   page_id, url, source, bytes, error (binary, undecodable, oversize, malformed)
    domains.parquet              domain, pages, recalled, fraction, code_related (the whole pool, final model)
    domains_by_iteration.parquet the same per iteration, on the pool sample the iterations mined
    url_patterns.json            per iteration: code-related domain -> path prefixes (pages, recalled)
    models/iter-N.bin (+ tokenizer.json, classifier.json)
    metrics.json                 per-iteration CV precision / recall / F1 / AP, training sizes, funnel
    decontamination.json         which benchmark item hit which page
    report/recall.html + PNG     P/R curve per iteration, score histogram, top domains

What it does NOT do: deduplicate pages (a near-copy of a page is recalled twice), or fetch anything.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any

from opc_core import dataset, storage
from opc_core.manifest import Counts
from opc_core.stage import StageContext, StageResult, StageSpec
from opc_recall.config import RecallConfig


def page_key(source: str, page_id: str) -> str:
    return hashlib.sha1(f"{source}\x1f{page_id}".encode("utf-8", "surrogatepass")).hexdigest()[:20]


def _h(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()[:8], "big")


def write_input_shards(config: RecallConfig, out: str) -> dict[str, Any]:
    """Phase A: every pool page -> ``_work/input`` shards with its key and registered domain."""
    from opc_recall.domains import registered_domain
    from opc_recall.ingest import plan_units, read_unit
    from opc_recall.pages import ReadOptions
    from opc_recall.scoring import INPUT_SCHEMA, work

    done = work(out, "input", "_DONE.json")
    if storage.exists(done):
        return storage.read_json(done)
    opts = ReadOptions(config.pool.extractor, config.pool.max_page_bytes)
    units = plan_units(config.pool.sources)
    writer = dataset.ShardWriter(work(out, "input"), INPUT_SCHEMA, config.engine.pages_per_shard)
    idx = 0
    for unit in units:
        for rec in read_unit(unit, opts):
            writer.write({"_idx": idx, "key": page_key(rec["source"], rec["id"]), "id": rec["id"],
                          "url": rec["url"], "domain": registered_domain(rec["url"]), "title": rec["title"],
                          "text": rec["text"], "source": rec["source"], "bytes": rec["bytes"], "error": rec["error"]})
            idx += 1
    shards = [u.rsplit("/", 1)[-1] for u in writer.close()]
    marker = {"records": idx, "shards": shards, "sources": sorted({u.uri for u in units})}
    storage.write_json_atomic(done, marker)
    return marker


def _seed_rows(records: list[dict[str, Any]], label: int | None, features) -> list[dict[str, Any]]:
    from opc_recall.classifier import page_text
    from opc_recall.domains import registered_domain

    return [{"key": page_key(r["source"], r["id"]), "url": r["url"], "domain": registered_domain(r["url"]),
             "text": page_text(r["url"], r["title"], r["text"], features),
             "label": int(r["label"]) if label is None else label}
            for r in records if not r["error"] and (r["text"] or "").strip()]


def load_seeds(config: RecallConfig, ctx: StageContext) -> tuple[list[dict], list[dict], list[str]]:
    """(labelled seeds for CV, extra positives from GitHub text, sources read)."""
    from opc_recall.ingest import read_sources
    from opc_recall.pages import ReadOptions, read_labelled

    opts = ReadOptions(config.pool.extractor, config.pool.max_page_bytes)
    feats = config.classifier.features
    labelled: list[dict[str, Any]] = []
    for uri in config.seeds.labels:
        labelled += _seed_rows(read_labelled(storage.normalize(uri), opts), None, feats)
    labelled += _seed_rows(list(read_sources(config.seeds.positives, opts)), 1, feats)
    labelled += _seed_rows(list(read_sources(config.seeds.negatives, opts)), 0, feats)
    sources = [*config.seeds.labels, *[str(s) for s in config.seeds.positives + config.seeds.negatives]]
    extra: list[dict[str, Any]] = []
    if config.seeds.github_text and "data" in ctx.inputs:
        kept = storage.join(ctx.input_uri("data"), "kept")
        rows = []
        for batch in dataset.read_batches(kept, ["repo_name", "path", "content", "doc_type"]):
            for r in batch.to_pylist():
                if r["doc_type"] == "text" and len(r["content"] or "") >= config.seeds.github_text_min_chars:
                    rows.append(r)
        rows.sort(key=lambda r: (_h(ctx.seed, "github", r["repo_name"], r["path"]), r["repo_name"], r["path"]))
        gh = [{"id": f"{r['repo_name']}/{r['path']}", "source": "github", "error": None,
               "url": f"https://github.com/{r['repo_name']}/blob/HEAD/{r['path']}",
               "title": r["path"].rsplit("/", 1)[-1], "text": r["content"]} for r in rows[: config.seeds.github_text_max]]
        extra = _seed_rows(gh, 1, feats)
    return labelled, extra, sources


def iteration_pool(out: str, config: RecallConfig, seed: int) -> list[dict[str, Any]]:
    """The pool sample the iterations mine: readable pages with text, the ``iteration_pages`` lowest hashes."""
    from opc_recall.classifier import page_text

    picked: list[tuple[int, dict[str, Any]]] = []
    cap = config.pool.iteration_pages
    for batch in dataset.read_batches(storage.join(out, "_work", "input")):
        for r in batch.to_pylist():
            if r["error"] or len((r["text"] or "").strip()) < config.pool.min_text_chars:
                continue
            picked.append((_h(seed, "pool", r["key"]), r))
        if len(picked) > 2 * cap:
            picked = sorted(picked, key=lambda t: (t[0], t[1]["key"]))[:cap]
    picked = sorted(picked, key=lambda t: (t[0], t[1]["key"]))[:cap]
    rows = sorted((r for _, r in picked), key=lambda r: r["_idx"])
    return [{"key": r["key"], "url": r["url"], "domain": r["domain"],
             "text": page_text(r["url"], r["title"], r["text"], config.classifier.features)} for r in rows]


def run(config: RecallConfig, ctx: StageContext) -> StageResult:
    """Ingest, train (CV + iterations), score the pool on the configured engine, write every output."""
    from opc_recall.classifier import Classifier
    from opc_recall.model_store import save_iterations
    from opc_recall.scoring import work
    from opc_recall.training import train_classifier

    out = ctx.output_uri
    marker = write_input_shards(config, out)
    ctx.log.info("recall: %d pool pages in %d input shards", marker["records"], len(marker["shards"]))
    labelled, extra, seed_sources = load_seeds(config, ctx)
    pool = iteration_pool(out, config, ctx.seed)
    ctx.log.info("recall: %d labelled seeds, %d GitHub text positives, %d pool pages for the iterations",
                 len(labelled), len(extra), len(pool))
    trained = train_classifier(labelled, config.classifier, ctx.seed, extra_seeds=extra, pool=pool, log=ctx.log)
    thr = trained.classifier.threshold
    classifiers = [Classifier(it.model, trained.classifier.pretok, config.classifier.features, thr)
                   for it in trained.iterations]
    models_uri = storage.join(out, "models")
    save_iterations(models_uri, classifiers, {"cv": trained.metrics["cv"]})
    _write_iteration_tables(out, trained.iterations)

    todo = [s for s in marker["shards"] if not storage.exists(work(out, "stats", s.replace(".parquet", ".json")))]
    config_json = config.model_dump_json()
    if config.engine.kind == "spark":
        from opc_recall.spark_engine import score_shards_spark

        score_shards_spark(out, todo, models_uri, config_json, config.engine)
    else:
        from opc_recall.local_engine import score_shards_local

        score_shards_local(out, todo, models_uri, config_json, config.engine.workers)
    stats = [storage.read_json(work(out, "stats", s.replace(".parquet", ".json"))) for s in marker["shards"]]
    result = _finish(config, out, stats, marker, trained, len(labelled), len(extra), len(pool))
    storage.remove(storage.join(out, "_work"))
    counts = Counts(**{"in": marker["records"]}, kept=result["kept"], rejected=result["rejected"],
                    quarantined=result["quarantined"])
    summary = (f"{result['kept']} of {marker['records']} pages recalled ({result['bytes_kept']} bytes of text); "
               f"{result['code_domains']} code-related domains; threshold {thr:.3f}")
    return StageResult(counts=counts, metrics=result["metrics"], sources=[*marker["sources"], *seed_sources],
                       summary=summary)


def _write_iteration_tables(out: str, iterations) -> None:
    import pyarrow as pa

    rows = [{"iteration": it.number, **d} for it in iterations for d in it.domains]
    dataset.write_table(storage.join(out, "domains_by_iteration.parquet"), pa.Table.from_pylist(rows, schema=pa.schema([
        pa.field("iteration", pa.int32()), pa.field("domain", pa.string()), pa.field("pages", pa.int64()),
        pa.field("recalled", pa.int64()), pa.field("fraction", pa.float64()), pa.field("code_related", pa.bool_())])))
    patterns = {f"iter-{it.number}": it.patterns for it in iterations}
    storage.write_text_atomic(storage.join(out, "url_patterns.json"),
                              json.dumps(patterns, indent=2, sort_keys=True) + "\n")


def _finish(config: RecallConfig, out: str, stats: list[dict[str, Any]], marker: dict[str, Any], trained,
            n_labelled: int, n_github: int, n_pool: int) -> dict[str, Any]:
    import pyarrow as pa

    from opc_core.errors import OpcError
    from opc_data.decontamination import BenchmarkIndex, summarize_hits

    totals = {"kept": 0, "rejected": 0, "quarantined": 0}
    reasons: Counter[str] = Counter()
    domains: dict[str, list[int]] = {}
    hits: list[dict[str, Any]] = []
    bytes_kept = 0
    for s in stats:
        for k in totals:
            totals[k] += s[k]
        reasons.update(s["reasons"])
        hits.extend(s["decontamination_hits"])
        bytes_kept += s["bytes_kept"]
        for d, (n, r) in s["domains"].items():
            acc = domains.setdefault(d, [0, 0])
            acc[0] += n
            acc[1] += r
    if sum(totals.values()) != marker["records"]:
        raise OpcError(f"pages lost: {marker['records']} read, {sum(totals.values())} written", where=out,
                       hint="rerun with --force; report this as a bug")
    it_cfg = config.classifier.iterations
    table = [{"domain": d, "pages": n, "recalled": r, "fraction": r / n if n else 0.0,
              "code_related": bool(d) and n >= it_cfg.min_domain_pages and r / n > it_cfg.domain_threshold}
             for d, (n, r) in sorted(domains.items())]
    dataset.write_table(storage.join(out, "domains.parquet"), pa.Table.from_pylist(table, schema=pa.schema([
        pa.field("domain", pa.string()), pa.field("pages", pa.int64()), pa.field("recalled", pa.int64()),
        pa.field("fraction", pa.float64()), pa.field("code_related", pa.bool_())])))
    items = dict(BenchmarkIndex.build(config.decontamination).items) if config.decontamination.enabled else {}
    decon = summarize_hits(hits, items)
    storage.write_json_atomic(storage.join(out, "decontamination.json"), decon)
    code_domains = sum(t["code_related"] for t in table)
    metrics = {**trained.metrics, "seeds": {"labelled": n_labelled, "github_text": n_github, "iteration_pool": n_pool},
               "funnel": {"in": marker["records"], **totals, "reasons": dict(sorted(reasons.items()))},
               "web_bytes": bytes_kept, "code_domains": code_domains, "engine": config.engine.kind,
               "decontamination": decon["benchmarks"]}
    storage.write_json_atomic(storage.join(out, "metrics.json"), metrics)
    if config.report:
        from opc_recall.report import write_report

        write_report(out, trained, table)
    return {**totals, "metrics": metrics, "bytes_kept": bytes_kept, "code_domains": code_domains}


def _inputs(config: RecallConfig) -> dict[str, str]:
    return {"data": "data"} if config.seeds.github_text else {}


def _external_fingerprint(config: RecallConfig) -> str:
    from opc_recall.ingest import fingerprint

    return fingerprint([*config.pool.sources, *config.seeds.labels, *config.seeds.positives, *config.seeds.negatives])


STAGE = StageSpec(
    name="recall",
    config_model=RecallConfig,
    run=run,
    inputs=_inputs,
    code_modules=("opc_recall", "opc_data"),  # decontamination, decoding, ingest fingerprint, Spark session
    external_fingerprint=_external_fingerprint,
    volatile=("report/*",),
    description="code-related web text: fastText on BPE tokens, three iterations of domain/URL-pattern mining",
)
