"""Canonical-solution pass rates of every benchmark set (the acceptance numbers in packages/opc-eval/README.md).

    .venv/bin/python benchmarks/eval_canonical.py --data-dir ../shared/data/eval [--sets humaneval mbpp ...]

Scores each set's canonical solutions as completions through the same path as ``opc eval score``
and prints, per set, the pass rate and every failing or skipped task with its result. A failure must
be a known dataset quirk (listed in the README). Not a timing benchmark: times are printed for
orientation only. LeetCode has no canonical solutions and is not listed.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

SETS = {
    "humaneval": ("humaneval", None),
    "mbpp": ("mbpp", "mbpp.jsonl.gz"),
    "mbpp-sanitized": ("mbpp", "mbpp_sanitized.jsonl.gz"),
    "mbppplus": ("mbppplus", "MbppPlus-v0.1.0.jsonl.gz"),
    "bigcodebench-hard": ("bigcodebench-hard", "BigCodeBench_Hard.jsonl.gz"),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--sets", nargs="*", default=list(SETS))
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--python", default=None, help="interpreter for BigCodeBench (its own venv)")
    args = ap.parse_args()

    from opc_eval.benchmarks import get_benchmark
    from opc_eval.scoring import score_samples

    for name in args.sets:
        bench_name, filename = SETS[name]
        bench = get_benchmark(bench_name, python=args.python if bench_name == "bigcodebench-hard" else None)
        tasks = bench.load(str(Path(args.data_dir) / filename) if filename else None)
        samples = [{"task_id": t.task_id, "completion": t.canonical} for t in tasks if t.canonical is not None]
        t0 = time.perf_counter()
        results, summary = score_samples(bench, tasks, samples, workers=args.workers)
        passed = sum(r.passed for r in results)
        print(json.dumps({"set": name, "passed": passed, "scored": summary["n_samples"],
                          "skipped": summary["n_skipped_samples"], "pass@1": summary.get("pass@1"),
                          "seconds": round(time.perf_counter() - t0, 1)}))
        for r in results:
            if not r.passed:
                print(f"  {r.task_id}: {r.result[:160]}")


if __name__ == "__main__":
    main()
