"""What ``opc reproduce`` / ``opc run`` print at the end: a table of stages, then every output and report path.

    stage | cached? | time | records | highlights          (one row per stage; no paths in cells)
    Outputs and reports:                                   (each path once, on its own line, unbroken)
      data      <uri>
                report/funnel.html ...

Each stage's "records" cell says what its counts mean for that stage (data: ``in = kept + rejected +
quarantined``; tokenize: documents left out by mixture subsampling; eval: samples passed / failed), since
one set of kept/rejected columns would mean different things on different rows. A cached stage shows
the time it took when it ran (from its manifest). Paths are printed below the table, not in it, so a
narrow terminal never splits one across cell lines. Not here: running stages (``runner.py``), the HTML
run report (``run_report.py``).
"""

from __future__ import annotations

import re

from rich.console import Console
from rich.table import Table

from opc_core import storage
from opc_core.manifest import Manifest
from opc_core.runner import StageOutcome

# report files a stage may leave in its output folder (relative to the output, then to the artifact)
REPORT_FILES = ("report/funnel.html", "loss.png", "pass_at_k.png")
ARTIFACT_REPORTS = ("README.md",)


def _seconds(s: float) -> str:
    if s < 60:
        return f"{s:.1f}s"
    m, sec = divmod(round(s), 60)
    return f"{m}m {sec:02d}s" if m < 60 else f"{m // 60}h {m % 60:02d}m"


def stage_time(o: StageOutcome) -> str:
    """This run's time, or for a cache hit the time the stage took when it ran (its manifest's wall_s)."""
    if not o.cached:
        return _seconds(o.seconds)
    wall = o.manifest.timings.get("wall_s")
    return f"{_seconds(wall)} earlier" if wall is not None else "-"


def _eval_benchmarks(m: Manifest) -> dict[str, dict]:
    return {k: v for k, v in m.metrics.items() if isinstance(v, dict) and "pass@1" in v}


def records_cell(m: Manifest) -> str:
    """The stage's counts, labelled for what they mean on this stage."""
    c = m.counts
    if c is None:
        return "-"
    benches = _eval_benchmarks(m)
    if benches:  # eval, eval_base: samples generated and executed
        passed = sum(round(v["pass@1"] * v.get("n_samples", 0)) for v in benches.values())
        text = f"{c.records_in:,} samples: {passed:,} passed, {c.kept - passed:,} failed"
        return text + (f", {c.rejected:,} skipped" if c.rejected else "")
    if m.stage == "tokenize":
        text = f"{c.records_in:,} docs in, {c.kept:,} used, {c.rejected:,} left out by mixture subsampling"
        return text + (f", {c.quarantined:,} quarantined" if c.quarantined else "")
    return f"{c.records_in:,} in = {c.kept:,} kept + {c.rejected:,} rejected + {c.quarantined:,} quarantined"


def _short(text: str, m: Manifest) -> str:
    """A highlight without machine paths ("released X at <path>" loses " at <path>": paths are listed below)."""
    if not m.uri:
        return text
    text = re.sub(rf"\s*(?:\bat|->)\s+{re.escape(m.uri)}\S*?(?=[;,]|\s|$)", "", text)
    return text.replace(m.uri, f"{m.stage}/{m.key}")


def summary_table(outcomes: list[StageOutcome]) -> Table:
    table = Table(title="OpenCoder Cookbook run")
    table.add_column("stage", no_wrap=True)
    table.add_column("cached?", no_wrap=True)
    table.add_column("time", no_wrap=True, justify="right")
    table.add_column("records (meaning per stage)", ratio=1, overflow="fold")
    table.add_column("highlights", ratio=1, overflow="fold")
    for o in outcomes:
        table.add_row(o.stage, "yes" if o.cached else "no", stage_time(o), records_cell(o.manifest),
                      _short(o.manifest.summary, o.manifest))
    return table


def _label_width(outcomes: list[StageOutcome]) -> int:
    return max([len("run report"), *(len(o.stage) for o in outcomes)]) + 2


def output_lines(outcomes: list[StageOutcome]) -> list[str]:
    """Each stage's output and the report files it left, one path per line."""
    width = _label_width(outcomes)
    lines = []
    for o in outcomes:
        m = o.manifest
        lines.append(f"  {o.stage:<{width}}{m.artifact_uri or m.uri}")
        found = [storage.join(m.uri, f) for f in REPORT_FILES]
        if m.artifact_uri:
            found += [storage.join(m.artifact_uri, f) for f in ARTIFACT_REPORTS]
        lines += [f"  {'':<{width}}{uri}" for uri in found if storage.exists(uri)]
    return lines


def print_summary(outcomes: list[StageOutcome], console: Console | None = None,
                  run_report: str | None = None) -> None:
    if console is None:
        console = Console(stderr=True)
        if not console.is_terminal:  # logs and CI: wide enough that counts stay on one line
            console = Console(stderr=True, width=160)
    console.print(summary_table(outcomes))
    console.print("Outputs and reports:", highlight=False)
    for line in output_lines(outcomes):
        console.print(line, highlight=False, soft_wrap=True)
    if run_report:
        console.print(f"  {'run report':<{_label_width(outcomes)}}{run_report}",
                      highlight=False, soft_wrap=True)
    if outcomes and all(o.cached for o in outcomes):
        console.print("[green]all stages were cache hits: nothing recomputed[/green]")
