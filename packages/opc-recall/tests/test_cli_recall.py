"""``opc recall train`` / ``opc recall classify`` as a user runs them (real subprocesses, real pages)."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.slow


def opc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "opc_core.cli", *args], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def labels(dev_pages, tmp_path_factory) -> Path:
    """Every positive and every 4th negative dev page (~280 pages, many domains)."""
    rows = [p for i, p in enumerate(dev_pages) if p["code_related"] == 1 or i % 4 == 0]
    path = tmp_path_factory.mktemp("labels") / "labels.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for p in rows:
            f.write(json.dumps({k: p.get(k) for k in ("id", "url", "title", "text", "html", "code_related")}) + "\n")
    return path


@pytest.fixture(scope="module")
def model(labels, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("model") / "m"
    r = opc("recall", "train", "--labels", str(labels), "--output", str(out), "--iterations", "2")
    assert r.returncode == 0, r.stderr
    return out


def test_train_writes_model_tokenizer_threshold_and_cv_metrics_per_iteration(model):
    assert (model / "model.bin").stat().st_size > 0 and (model / "tokenizer.json").exists()
    meta = json.loads((model / "classifier.json").read_text())
    assert 0 < meta["threshold"] < 1
    metrics = json.loads((model / "metrics.json").read_text())
    cv = metrics["cv"]
    assert cv["folds"] == 5 and cv["group"] == "registered_domain" and len(cv["iterations"]) == 2
    assert all(0 < it["average_precision"] <= 1 for it in cv["iterations"])
    assert metrics["threshold"] == meta["threshold"]


def test_train_twice_gives_a_byte_identical_model(model, labels, tmp_path):
    r = opc("recall", "train", "--labels", str(labels), "--output", str(tmp_path / "again"), "--iterations", "2")
    assert r.returncode == 0, r.stderr
    for name in ("model.bin", "tokenizer.json", "classifier.json", "metrics.json"):
        assert (tmp_path / "again" / name).read_bytes() == (model / name).read_bytes(), name


def test_classify_writes_one_row_per_page_in_input_order(model, dev_pages, tmp_path):
    so = next(p for p in dev_pages if p["registered_domain"] == "stackoverflow.com" and p.get("html"))
    news = next(p for p in dev_pages if p["code_related"] == 0 and p["text_method"] == "provided-by-source")
    lines = [json.dumps({"id": "so", "url": so["url"], "title": so["title"], "text": None, "html": so["html"]}),
             json.dumps({"id": 42, "url": news["url"], "text": news["text"]}),
             json.dumps({"url": "https://empty.example.org/", "text": "", "html": "<html><body></body></html>"}),
             json.dumps({"id": "junk", "url": "https://x.org/", "html": "<html><body><script>1</script></body></html>"})]
    inp = tmp_path / "pages.jsonl"
    inp.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    r = opc("recall", "classify", "--model", str(model), "--input", str(inp), "--output", str(out))
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["_SUMMARY.json", "part-00000.parquet"]
    rows = pq.read_table(out / "part-00000.parquet").to_pylist()
    assert [r["id"] for r in rows] == ["so", "42", "2", "junk"]
    assert [r["url"] for r in rows][:2] == [so["url"], news["url"]]
    thr = json.loads((model / "classifier.json").read_text())["threshold"]
    assert all(r["label"] == (r["score"] >= thr) and 0 <= r["score"] <= 1 for r in rows)
    assert rows[0]["label"] is True and rows[1]["label"] is False
    assert rows[2]["score"] == 0 and rows[3]["score"] == 0 and not rows[2]["label"]


def test_classify_names_the_malformed_line(model, tmp_path):
    inp = tmp_path / "bad.jsonl"
    inp.write_text('{"id": "a", "url": "https://a.org/", "text": "fine"}\n{"id": "b", "url": \n')
    r = opc("recall", "classify", "--model", str(model), "--input", str(inp), "--output", str(tmp_path / "o"))
    assert r.returncode != 0 and "line 2" in r.stderr and "bad.jsonl" in r.stderr
