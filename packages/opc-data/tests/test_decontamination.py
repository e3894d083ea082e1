"""Decontamination: planted benchmark items are all found; real code is almost never hit."""

from __future__ import annotations

import gzip
import json
import random

import pytest

from opc_data.decontamination import (
    BenchmarkIndex,
    BenchmarkSource,
    DecontaminationConfig,
    Decontaminator,
    python_functions,
)


def _jsonl(path):
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


@pytest.fixture(scope="module")
def dev_texts(shared_dir):
    rows = _jsonl(shared_dir / "data/raw_code/dev.jsonl.gz")
    return [r for r in rows if not r["is_binary"]]


@pytest.fixture(scope="module")
def he_mbpp():
    cfg = DecontaminationConfig()  # the default: bundled HumanEval + MBPP, n-grams, functions, shapes
    return cfg, BenchmarkIndex.build(cfg)


def test_bundled_mbpp_is_the_published_file(shared_dir):
    import hashlib
    from importlib.resources import files

    bundled = files("opc_data").joinpath("benchmark_data", "mbpp.jsonl.gz").read_bytes()
    assert bundled == (shared_dir / "data/eval/mbpp.jsonl.gz").read_bytes()
    # the checksum file is what the data stage's cache key hashes (code_modules cover .txt, not .gz)
    sums = files("opc_data").joinpath("benchmark_data", "mbpp.sha256.txt").read_text().split()
    assert sums == [hashlib.sha256(bundled).hexdigest(), "mbpp.jsonl.gz"]


def test_default_is_humaneval_and_mbpp_bundled_without_download():
    index = BenchmarkIndex.build(DecontaminationConfig())
    assert dict(index.items) == {"humaneval": 164, "mbpp": 974}
    assert len(index.hashes) > 10_000 and index.functions


def test_planted_benchmarks_are_all_removed_and_no_clean_dev_file(shared_dir, dev_texts, he_mbpp):
    cfg, index = he_mbpp
    humaneval = _jsonl(shared_dir / "data/eval/HumanEval.jsonl.gz")
    mbpp = random.Random(3).sample(_jsonl(shared_dir / "data/eval/mbpp.jsonl.gz"), 50)
    rng = random.Random(11)
    hosts = rng.sample(dev_texts, len(humaneval) + len(mbpp))
    planted = []
    for item, host in zip(humaneval + mbpp, hosts, strict=True):
        solution = item["prompt"] + item["canonical_solution"] if "prompt" in item else item["code"]
        content = host["content"]
        # at the top, at the end, or between two lines of the host file
        where = rng.choice(["top", "end", "middle"])
        if where == "top":
            content = solution + "\n\n" + content
        elif where == "end":
            content = content + "\n\n" + solution + "\n"
        else:
            lines = content.splitlines(keepends=True)
            cut = len(lines) // 2
            content = "".join(lines[:cut]) + "\n" + solution + "\n\n" + "".join(lines[cut:])
        planted.append((item.get("task_id"), content))
    decon = Decontaminator(cfg, index)
    missed = [tid for tid, content in planted if decon.reason(content) is None]
    assert missed == []
    reasons = [decon.reason(content) for _, content in planted]
    assert reasons[0] == "decontamination:humaneval/HumanEval/0"
    assert reasons[len(humaneval)].startswith("decontamination:mbpp/")
    # the false-positive rate of all three matchers on the whole dev corpus (3,677 text files): 0
    clean_hits = [(r["repo_name"], r["path"]) for r in dev_texts if decon.reason(r["content"], r)]
    assert clean_hits == []


def test_short_mbpp_solution_is_caught_by_exact_function_match(shared_dir):
    mbpp = _jsonl(shared_dir / "data/eval/mbpp.jsonl.gz")
    cfg = DecontaminationConfig(benchmarks=[BenchmarkSource(name="mbpp", uri=str(shared_dir / "data/eval/mbpp.jsonl.gz"))])
    index = BenchmarkIndex.build(cfg)
    short = next(r for r in mbpp if len(r["code"].split()) < 14 and r["code"].lstrip().startswith("def "))
    hits = index.scan("import os\n\n" + short["code"].replace("\r\n", "\n") + "\n\nprint('done')\n")
    assert any(h.by == "function" and h.task_id == str(short["task_id"]) for h in hits)


def test_report_says_which_item_hit_which_file(he_mbpp, shared_dir):
    cfg, index = he_mbpp
    he = _jsonl(shared_dir / "data/eval/HumanEval.jsonl.gz")[5]
    decon = Decontaminator(cfg, index)
    rec = {"repo_name": "someone/solutions", "path": "he5.py", "blob_id": "b" * 40}
    assert decon.reason(he["prompt"] + he["canonical_solution"], rec) == "decontamination:humaneval/HumanEval/5"
    report = decon.report()
    assert report["benchmarks"]["humaneval"] == {"items": 164, "items_hit": 1, "files_hit": 1}
    assert report["hits"][0]["path"] == "he5.py" and report["hits"][0]["task_id"] == "HumanEval/5"


def test_alphabet_and_digit_runs_do_not_count_as_overlap():
    index = BenchmarkIndex.build(DecontaminationConfig())
    assert index.scan(" ".join("abcdefghijklmnopqrstuvwxyz") + "\n" + " ".join("0123456789ABCDEF")) == []


def test_python_functions_spans_multi_line_signature_and_body():
    src = "x = 1\ndef f(\n    a,\n    b,\n):\n    return a + b\n\ny = 2\n"
    assert list(python_functions(src)) == ["def f(\n    a,\n    b,\n):\n    return a + b"]


def test_missing_benchmark_file_is_a_clear_error(tmp_path):
    from opc_core.errors import OpcError

    cfg = DecontaminationConfig(benchmarks=[BenchmarkSource(name="mbpp", uri=str(tmp_path / "nope.jsonl.gz"))])
    with pytest.raises(OpcError, match="benchmark file not found"):
        BenchmarkIndex.build(cfg)
