"""The table ``opc reproduce`` prints: stage, cached?, records in/kept/rejected/quarantined, time, output."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from opc_core.runner import StageOutcome


def summary_table(outcomes: list[StageOutcome]) -> Table:
    table = Table(title="OpenCoder Cookbook run")
    for col in ("stage", "cached?", "in", "kept", "rejected", "quarant.", "time", "highlights", "output"):
        table.add_column(col, overflow="fold")
    for o in outcomes:
        c = o.manifest.counts
        nums = [str(c.records_in), str(c.kept), str(c.rejected), str(c.quarantined)] if c else ["-"] * 4
        table.add_row(
            o.stage,
            "yes (cache hit)" if o.cached else "no (ran)",
            *nums,
            f"{o.seconds:.1f}s",
            o.manifest.summary,
            o.manifest.artifact_uri or o.manifest.uri,
        )
    return table


def print_summary(outcomes: list[StageOutcome], console: Console | None = None) -> None:
    if console is None:
        console = Console(stderr=True)
        if not console.is_terminal:  # logs and CI: wide enough that URIs and counts stay on one line
            console = Console(stderr=True, width=200)
    console.print(summary_table(outcomes))
    if outcomes and all(o.cached for o in outcomes):
        console.print("[green]all stages were cache hits: nothing recomputed[/green]")
