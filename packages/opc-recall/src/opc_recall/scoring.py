"""Scoring one input shard of the pool: the per-shard function both engines call.

    _work/input/part-N.parquet ──score_shard_task──▶ kept/part-N  rejected/part-N  quarantined/part-N
                                                     _work/stats/part-N.json  (the shard's completion marker)

Per page, in order: ``error`` set -> quarantined (with the error); extracted text shorter than
``min_text_chars`` -> rejected ``empty_text`` (score 0); final model's score below the threshold ->
rejected ``score``; benchmark text found -> rejected ``decontamination:<benchmark>/<task_id>``; else
recalled (kept). ``iteration`` is the first iteration whose model recalls the page (the final model's
iteration when only it does). Every page lands in exactly one output.

What it does NOT do: train (``training.py``) or read sources (``ingest.py``).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pyarrow as pa

from opc_core import dataset, storage

_DOC = [pa.field("repo_name", pa.string()), pa.field("path", pa.string()), pa.field("content", pa.string()),
        pa.field("program_lang", pa.string()), pa.field("doc_type", pa.string()), pa.field("url", pa.string()),
        pa.field("domain", pa.string()), pa.field("title", pa.string()), pa.field("score", pa.float64()),
        pa.field("iteration", pa.int32()), pa.field("source", pa.string()), pa.field("page_id", pa.string())]
KEPT_SCHEMA = pa.schema(_DOC)
REJECTED_SCHEMA = pa.schema([*_DOC, pa.field("reject_reason", pa.string())])
QUARANTINED_SCHEMA = pa.schema([pa.field("page_id", pa.string()), pa.field("url", pa.string()),
                                pa.field("domain", pa.string()), pa.field("source", pa.string()),
                                pa.field("bytes", pa.int64()), pa.field("error", pa.string())])
INPUT_SCHEMA = pa.schema([pa.field("_idx", pa.int64()), pa.field("key", pa.string()), pa.field("id", pa.string()),
                          pa.field("url", pa.string()), pa.field("domain", pa.string()),
                          pa.field("title", pa.string()), pa.field("text", pa.string()),
                          pa.field("source", pa.string()), pa.field("bytes", pa.int64()),
                          pa.field("error", pa.string())])
DATASETS = {"kept": KEPT_SCHEMA, "rejected": REJECTED_SCHEMA, "quarantined": QUARANTINED_SCHEMA}


def work(out: str, *parts: str) -> str:
    return storage.join(out, "_work", *parts)


class _Models:
    """Per-process cache of the iteration models and the decontamination index."""

    cache: dict[str, Any] = {}

    @classmethod
    def get(cls, models_uri: str, config_json: str) -> dict[str, Any]:
        key = models_uri + config_json
        if key not in cls.cache:
            from opc_data.decontamination import Decontaminator
            from opc_recall.config import RecallConfig
            from opc_recall.model_store import load_iterations

            config = RecallConfig.model_validate_json(config_json)
            cls.cache.clear()
            cls.cache[key] = {
                "classifiers": load_iterations(models_uri),
                "decon": Decontaminator(config.decontamination) if config.decontamination.enabled else None,
                "config": config,
            }
        return cls.cache[key]


def score_rows(rows: list[dict[str, Any]], models_uri: str, config_json: str) -> dict[str, Any]:
    """Kept / rejected / quarantined rows for one shard, plus per-domain counts and decontamination hits."""
    from opc_recall.classifier import page_text
    from opc_recall.language import guess_language

    tools = _Models.get(models_uri, config_json)
    config, classifiers, decon = tools["config"], tools["classifiers"], tools["decon"]
    final = classifiers[-1]
    if decon is not None:
        decon.hits = []
    out: dict[str, list[dict[str, Any]]] = {"kept": [], "rejected": [], "quarantined": []}
    reasons: Counter[str] = Counter()
    domains: dict[str, list[int]] = {}
    live = [r for r in rows if not r["error"] and len((r["text"] or "").strip()) >= config.pool.min_text_chars]
    texts = [page_text(r["url"], r["title"], r["text"], final.features) for r in live]
    lines = final.lines(texts)
    per_it = [c.score_lines(lines) for c in classifiers]
    scored = {r["_idx"]: i for i, r in enumerate(live)}
    for r in rows:
        if r["error"]:
            out["quarantined"].append({"page_id": r["id"], "url": r["url"], "domain": r["domain"],
                                       "source": r["source"], "bytes": r["bytes"], "error": r["error"]})
            reasons["quarantined"] += 1
            continue
        text = r["text"] or ""
        doc = {"repo_name": r["domain"] or "unknown", "path": r["url"], "content": text,
               "program_lang": guess_language(text), "doc_type": "web", "url": r["url"], "domain": r["domain"],
               "title": r["title"], "score": 0.0, "iteration": None, "source": r["source"], "page_id": r["id"]}
        i = scored.get(r["_idx"])
        counts = domains.setdefault(r["domain"], [0, 0])
        counts[0] += 1
        if i is None:
            out["rejected"].append({**doc, "reject_reason": "empty_text"})
            reasons["empty_text"] += 1
            continue
        score = float(per_it[-1][i])
        doc["score"] = score
        if score < final.threshold:
            out["rejected"].append({**doc, "reject_reason": "score"})
            reasons["score"] += 1
            continue
        counts[1] += 1
        doc["iteration"] = next(k + 1 for k, s in enumerate(per_it) if s[i] >= final.threshold)
        why = decon.reason(text, {"repo_name": doc["repo_name"], "path": doc["path"]}) if decon else None
        if why:
            out["rejected"].append({**doc, "reject_reason": why})
            reasons["decontamination"] += 1
            continue
        out["kept"].append(doc)
        reasons["kept"] += 1
    return {**out, "reasons": dict(reasons), "domains": domains,
            "decontamination_hits": list(decon.hits) if decon is not None else []}


def read_shard(out: str, shard: str) -> list[dict[str, Any]]:

    return dataset.read_file(work(out, "input", shard)).to_pylist()


def score_shard_task(out: str, shard: str, models_uri: str, config_json: str) -> dict[str, Any]:
    """One shard end to end (runs in a worker process or a Spark task): outputs, then the stats marker."""
    result = score_rows(read_shard(out, shard), models_uri, config_json)
    for name, schema in DATASETS.items():
        dataset.write_table(storage.join(out, name, shard), pa.Table.from_pylist(result[name], schema=schema))
    stats = {"shard": shard, **{n: len(result[n]) for n in DATASETS}, "reasons": result["reasons"],
             "domains": result["domains"], "decontamination_hits": result["decontamination_hits"],
             "bytes_kept": sum(len(r["content"].encode("utf-8", "replace")) for r in result["kept"])}
    storage.write_json_atomic(work(out, "stats", shard.replace(".parquet", ".json")), stats)
    return stats
