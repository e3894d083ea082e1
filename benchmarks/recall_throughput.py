"""Recall throughput on one core: HTML extraction and classifier scoring, each against a named baseline.

    OPC_SHARED_DIR=../shared .venv/bin/python benchmarks/recall_throughput.py [--pages 497] [--repeat 3]

Pinned to one core (``sched_setaffinity`` + ``RAYON_NUM_THREADS=1`` for the tokenizer). On the dev pages:

- **extraction** (HTML -> main text, the pages with raw HTML): our extractor, resiliparse
  ``extract_plain_text(main_content=True)``, against the other maintained extractor, trafilatura
  (``favor_precision``, FineWeb's settings). Pages/s and MB of HTML/s per core; ratio = ours / baseline.
- **scoring** (page text -> P(code-related)): ``Classifier.score`` (BPE pre-tokenization + one batched
  fastText predict) against a plain fastText ``predict`` loop (one call per page on whitespace-split
  lower-cased text, a model trained the same way on the same pages). Pages/s and MB of text/s per core.

Best of ``--repeat`` runs (best-of damps the noise of a shared machine). Never part of ``make test``.
"""

from __future__ import annotations

import os

os.environ.setdefault("RAYON_NUM_THREADS", "1")

import argparse  # noqa: E402
import gzip  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

SHARED = Path(os.environ.get("OPC_SHARED_DIR", Path(__file__).resolve().parents[1].parent / "shared"))


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    from opc_recall.bpe import PreTokenizer, train_bpe
    from opc_recall.classifier import Classifier, FastTextConfig, FeatureConfig, page_text, train_fasttext
    from opc_recall.extract import extract_text

    ap = argparse.ArgumentParser()
    ap.add_argument("--labels", default=str(SHARED / "data/web/dev.jsonl.gz"))
    ap.add_argument("--pages", type=int, default=497)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    with gzip.open(args.labels, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    html = [r for r in rows if r.get("html")][: args.pages]
    mb_html = sum(len(r["html"].encode()) for r in html) / 1e6
    ours = best(lambda: [extract_text(r["html"], r["url"], "resiliparse") for r in html], args.repeat)
    base = best(lambda: [extract_text(r["html"], r["url"], "trafilatura") for r in html], args.repeat)
    print(f"extraction, {len(html)} pages, {mb_html:.1f} MB HTML, 1 core")
    print(f"  resiliparse (ours):       {len(html) / ours:8.1f} pages/s {mb_html / ours:7.2f} MB/s")
    print(f"  trafilatura (baseline):   {len(html) / base:8.1f} pages/s {mb_html / base:7.2f} MB/s")
    print(f"  ratio ours/baseline:      {base / ours:8.2f}x")

    feats = FeatureConfig()
    texts = [page_text(r["url"], r.get("title"), r["text"], feats) for r in rows]
    labels = [r["code_related"] for r in rows]
    mb_text = sum(len(t.encode()) for t in texts) / 1e6
    pretok = PreTokenizer(train_bpe([t[: feats.max_chars] for t in texts], feats.bpe_vocab_size), feats.max_chars)
    clf = Classifier(train_fasttext(pretok(texts), labels, FastTextConfig(), 1234), pretok, feats)
    plain = PreTokenizer(None, feats.max_chars)
    plain_model = train_fasttext(plain(texts), labels, FastTextConfig(), 1234)

    def baseline_loop():
        for t in texts:
            plain_model.predict(" ".join(t[: feats.max_chars].lower().split()), k=2)

    ours = best(lambda: clf.score(texts), args.repeat)
    base = best(baseline_loop, args.repeat)
    print(f"scoring, {len(texts)} pages, {mb_text:.1f} MB text, 1 core")
    print(f"  Classifier.score (BPE + batched predict): {len(texts) / ours:8.1f} pages/s {mb_text / ours:7.2f} MB/s")
    print(f"  plain fastText predict loop (baseline):   {len(texts) / base:8.1f} pages/s {mb_text / base:7.2f} MB/s")
    print(f"  ratio ours/baseline:                      {base / ours:8.2f}x")


if __name__ == "__main__":
    main()
