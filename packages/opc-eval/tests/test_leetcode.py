"""LeetCode has no canonical solutions in the set: a hand-written right answer passes, a wrong one fails."""

from opc_eval.benchmarks import get_benchmark
from opc_eval.scoring import score_samples

# the prompt ends inside the method body, indentation included: a completion continues from there
RIGHT = """counts = sorted((word.count(c) for c in set(word)), reverse=True)
        return sum(n * (i // 8 + 1) for i, n in enumerate(counts))
"""


def test_leetcode_program_runs_the_contest_asserts(eval_data):
    bench = get_benchmark("leetcode")
    tasks = bench.load(str(eval_data / "LeetCode-20240121-Jul.jsonl.gz"))
    task = next(t for t in tasks if t.task_id == "weekly-contest-381-minimum-number-of-pushes-to-type-word-i")
    assert task.entry_point == "minimumPushes"
    samples = [{"task_id": task.task_id, "completion": RIGHT},
               {"task_id": task.task_id, "completion": "return len(word)\n"}]
    results, summary = score_samples(bench, [task], samples)
    assert [r.passed for r in results] == [True, False]
    assert summary["pass@1"] == 0.5
