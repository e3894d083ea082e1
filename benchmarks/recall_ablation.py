"""Ablation of the recall classifier: what BPE tokens, GitHub text positives and URL-pattern positives add.

    .venv/bin/python benchmarks/recall_ablation.py [--labels ../shared/data/web/dev.jsonl.gz] \
        [--github ../shared/data/raw_code/dev.jsonl.gz] [--only base,plain,github,patterns] [--iterations 3]

Every variant runs the same domain-grouped 5-fold cross-validation as ``opc recall train`` (three
iterations inside each training fold, seed 1234) and prints average precision and cross-fitted F1 per
iteration, as a Markdown table (the one in packages/opc-recall/README.md):

    base      BPE tokens, labels only (what ``opc recall train`` does)
    plain     lower-cased whitespace words instead of BPE tokens (the naive bag of words)
    github    base + GitHub text files (README/docs: .md/.rst/.txt of the raw-code dev set) as positives
    patterns  base + URL-pattern positives: labelled negatives under a mined pattern become positives

Run on demand (minutes per variant on one core), never in ``make test``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import time
from pathlib import Path

SHARED = Path(os.environ.get("OPC_SHARED_DIR", Path(__file__).resolve().parents[1].parent / "shared"))


def labelled_rows(path: str, features) -> list[dict]:
    from opc_recall.classifier import page_text
    from opc_recall.domains import registered_domain
    from opc_recall.pages import ReadOptions, read_labelled

    return [{"key": r["id"], "url": r["url"], "domain": registered_domain(r["url"]),
             "text": page_text(r["url"], r["title"], r["text"], features), "label": r["label"]}
            for r in read_labelled(path, ReadOptions(strict=True)) if r["text"].strip()]


def github_rows(path: str, features, limit: int = 300) -> list[dict]:
    from opc_recall.classifier import page_text

    out = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            p = r.get("path") or ""
            if p.lower().endswith((".md", ".rst", ".txt")) and len(r.get("content") or "") >= 200:
                url = f"https://github.com/{r['repo_name']}/blob/HEAD/{p}"
                out.append({"key": url, "url": url, "domain": "github.com", "label": 1,
                            "text": page_text(url, p.rsplit("/", 1)[-1], r["content"], features)})
    out.sort(key=lambda r: r["key"])
    return out[:limit]


def main() -> None:
    from opc_recall.training import ClassifierConfig, train_classifier

    ap = argparse.ArgumentParser()
    ap.add_argument("--labels", default=str(SHARED / "data/web/dev.jsonl.gz"))
    ap.add_argument("--github", default=str(SHARED / "data/raw_code/dev.jsonl.gz"))
    ap.add_argument("--only", default="base,plain,github,patterns")
    ap.add_argument("--iterations", type=int, default=3, help="iterations per variant (patterns: at least 2)")
    args = ap.parse_args()
    variants = {
        "base": ({}, False),
        "plain": ({"features": {"bpe": False}}, False),
        "github": ({}, True),
        "patterns": ({"iterations": {"patterns_relabel": True}}, False),
    }
    print("| variant | iteration | AP | precision | recall | F1 | threshold | cpu s |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.only.split(","):
        over, use_github = variants[name]
        n_it = max(2, args.iterations) if name == "patterns" else args.iterations
        cfg = ClassifierConfig.model_validate({**over, "iterations": {**over.get("iterations", {}), "iterations": n_it}})
        lab = labelled_rows(args.labels, cfg.features)
        extra = github_rows(args.github, cfg.features) if use_github else []
        t = time.process_time()
        trained = train_classifier(lab, cfg, 1234, extra_seeds=extra)
        cpu = time.process_time() - t
        for it in trained.metrics["cv"]["iterations"]:
            print(f"| {name}{f' (+{len(extra)} GitHub files)' if extra else ''} | {it['iteration']} | "
                  f"{it['average_precision']:.3f} | {it['precision']:.3f} | {it['recall']:.3f} | {it['f1']:.3f} | "
                  f"{it['threshold']:.3f} | {cpu:.0f} |", flush=True)


if __name__ == "__main__":
    main()
