"""``opc recall ...``: the recall classifier as pure commands (no workdir, no stage cache).

    opc recall train    --labels LABELLED.jsonl[.gz] --output MODEL_DIR [--iterations N]
    opc recall classify --model MODEL_DIR --input PAGES.jsonl[.gz] --output OUT_DIR

``train`` reads a labelled JSONL alone (``id, url, title, text, code_related``; ``html`` when ``text`` is
empty), runs domain-grouped 5-fold cross-validation with the iterations inside each training fold,
picks the threshold on the out-of-fold scores, trains the final model on every page and writes
``MODEL_DIR/model.bin``, ``tokenizer.json``, ``classifier.json`` (threshold, features) and
``metrics.json`` (CV figures per iteration). ``classify`` writes ``OUT_DIR/part-00000.parquet`` with one
row per input page in input order: ``id`` (string; the 0-based line number when absent), ``url``,
``score`` (P(code-related)), ``label`` (score >= threshold), plus ``_SUMMARY.json``. A page with no usable
text scores 0; a malformed line is an error naming the line.

What it does NOT do: read a pool, GitHub text or a recipe (the ``recall`` stage does).
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer

from opc_core.progress import eprint

app = typer.Typer(help="Recall classifier tools: train on labelled pages, classify pages (pure commands).",
                  no_args_is_help=True, pretty_exceptions_enable=False)

SEED = 1234


@app.command()
def train(
    labels: Annotated[str, typer.Option(help="labelled JSONL(.gz): url, title, text and/or html, code_related 0/1")],
    output: Annotated[str, typer.Option(help="model directory (local or s3://), created if absent")],
    iterations: Annotated[int, typer.Option(help="recall iterations (OpenCoder: 3)")] = 3,
    folds: Annotated[int, typer.Option(help="domain-grouped cross-validation folds")] = 5,
    seed: Annotated[int, typer.Option(help="seed of fastText and of the samplers")] = SEED,
    extractor: Annotated[str, typer.Option(help="HTML extractor for pages without text: resiliparse | trafilatura")] = "resiliparse",
) -> None:
    """Train the code-related classifier on labelled pages (domain-grouped CV picks the threshold)."""
    from opc_core import storage
    from opc_core.errors import OpcError
    from opc_recall.classifier import page_text
    from opc_recall.domains import registered_domain
    from opc_recall.pages import ReadOptions, read_labelled
    from opc_recall.stage import page_key
    from opc_recall.training import ClassifierConfig, train_classifier

    if extractor not in ("resiliparse", "trafilatura"):
        raise OpcError(f"unknown extractor {extractor!r}", hint="use resiliparse or trafilatura")
    t0 = time.time()
    cfg = ClassifierConfig.model_validate({"iterations": {"iterations": iterations}, "cv_folds": folds})
    records = read_labelled(storage.normalize(labels), ReadOptions(extractor, strict=True))  # type: ignore[arg-type]
    rows = [{"key": page_key(r["source"], r["id"]), "url": r["url"], "domain": registered_domain(r["url"]),
             "text": page_text(r["url"], r["title"], r["text"], cfg.features), "label": r["label"]}
            for r in records if (r["text"] or "").strip()]
    if not any(r["label"] == 1 for r in rows) or not any(r["label"] == 0 for r in rows):
        raise OpcError("the labels need both code_related 1 and 0 pages with text", where=labels)
    trained = train_classifier(rows, cfg, seed)
    with tempfile.TemporaryDirectory(prefix="opc-recall-train-") as tmp:
        trained.classifier.save(tmp, {"extractor": extractor, "iterations": iterations, "seed": seed})
        metrics = {**trained.metrics, "labels": labels.rsplit("/", 1)[-1], "pages": len(records),
                   "pages_with_text": len(rows)}
        Path(tmp, "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        storage.upload_dir(tmp, storage.normalize(output))
    last = trained.metrics["cv"]["iterations"][-1]
    eprint(f"recall train: {len(rows)} pages, CV AP {last.get('average_precision', 0):.3f} F1 {last.get('f1', 0):.3f} "
           f"(iteration {iterations}), threshold {trained.classifier.threshold:.3f}, {time.time() - t0:.0f}s -> {output}")


@app.command()
def classify(
    model: Annotated[str, typer.Option(help="a model directory written by `opc recall train`")],
    input: Annotated[str, typer.Option("--input", help="pages JSONL(.gz): id, url, title, text and/or html")],
    output: Annotated[str, typer.Option(help="output folder (local or s3://): part-*.parquet + _SUMMARY.json")],
) -> None:
    """Score pages: one Parquet row per input page, in input order (id, url, score, label)."""
    import pyarrow as pa

    from opc_core import dataset, storage
    from opc_core.errors import OpcError
    from opc_recall.classifier import load_classifier, page_text
    from opc_recall.pages import ReadOptions, read_file

    t0 = time.time()
    model_dir = storage.normalize(model)
    local = Path(model_dir) if not storage.is_remote(model_dir) else storage.download_dir(model_dir, tempfile.mkdtemp())
    if not (local / "model.bin").exists() or not (local / "classifier.json").exists():
        raise OpcError("not a recall model directory (model.bin, classifier.json)", where=model,
                       hint="train one with `opc recall train --labels ... --output DIR`")
    clf = load_classifier(local)
    meta = json.loads((local / "classifier.json").read_text(encoding="utf-8"))
    opts = ReadOptions(meta.get("extractor", "resiliparse"), strict=True)
    in_uri = storage.normalize(input)
    fmt = "parquet" if in_uri.lower().endswith(".parquet") else "jsonl"
    pages = list(read_file(in_uri, opts, fmt))
    texts = [page_text(p["url"], p["title"], p["text"], clf.features) if (p["text"] or "").strip() and not p["error"]
             else "" for p in pages]
    scores = clf.score(texts)
    table = pa.table({"id": pa.array([str(p["id"]) for p in pages], pa.string()),
                      "url": pa.array([p["url"] or None for p in pages], pa.string()),
                      "score": pa.array(scores.tolist(), pa.float64()),
                      "label": pa.array([bool(s >= clf.threshold) for s in scores.tolist()], pa.bool_())})
    out = storage.normalize(output)
    storage.makedirs(out)
    dataset.write_table(storage.join(out, dataset.shard_name(0)), table)
    summary = {"pages": len(pages), "positive": int(sum(table.column("label").to_pylist())),
               "empty": sum(1 for t in texts if not t), "threshold": clf.threshold}
    storage.write_json_atomic(storage.join(out, "_SUMMARY.json"), summary)
    eprint(f"recall classify: {summary['pages']} pages, {summary['positive']} code-related "
           f"(threshold {clf.threshold:.3f}), {summary['empty']} without text, {time.time() - t0:.1f}s -> {output}")
