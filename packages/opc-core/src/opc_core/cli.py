"""The ``opc`` command line: every stage runs alone from here, with no Prefect server.

    opc run <stage> --recipe recipes/tiny.yaml [key.sub=value ...]   one stage (cached by content key)
    opc reproduce --recipe recipes/tiny.yaml                          the whole pipeline (Prefect flow)
    opc status [--json]                                               what exists in the workdir
    opc lineage <output|key|stage>                                    the chain back to the raw inputs
    opc gc [--yes]                                                    drop unreferenced outputs
    opc data|eval|release ...                                         stage tools from their packages

Logs and progress go to stderr; ``--json`` output goes alone to stdout.
"""

from __future__ import annotations

import json
import os
import sys
from importlib.metadata import entry_points
from typing import Annotated

import typer

from opc_core import storage
from opc_core.errors import OpcError
from opc_core.progress import setup_logging, stderr_console

app = typer.Typer(help="OpenCoder Cookbook: raw code -> cleaned corpus -> trained, evaluated, released model.",
                  no_args_is_help=True, pretty_exceptions_enable=False)

RecipeOpt = Annotated[str, typer.Option("--recipe", "-r", help="recipe YAML (local path or s3://)")]
Overrides = Annotated[list[str] | None, typer.Argument(help="overrides: key.sub=value (e.g. pretrain.max_steps=20)")]
DEFAULT_RECIPE = "recipes/tiny.yaml"


def default_workdir(recipe: str | None = None, workdir: str | None = None) -> str:
    """--workdir, else the recipe's, else $OPC_WORKDIR, else ./work (what `make reproduce` uses)."""
    if workdir:
        return storage.normalize(workdir)
    if recipe:
        from opc_core.recipe import load_recipe

        return load_recipe(recipe).workdir
    return storage.normalize(os.environ.get("OPC_WORKDIR", "work"))


@app.command()
def run(
    stage: Annotated[str, typer.Argument(help="stage name, e.g. data, tokenize, pretrain, eval, release")],
    overrides: Overrides = None,
    recipe: RecipeOpt = DEFAULT_RECIPE,
    force: Annotated[bool, typer.Option(help="redo even if a complete output exists")] = False,
    upstream: Annotated[bool, typer.Option(help="also run missing upstream stages")] = False,
) -> None:
    """Run one stage alone (no Prefect). Skipped when its content key already has a complete output."""
    from opc_core.recipe import load_recipe
    from opc_core.run_summary import print_summary
    from opc_core.runner import run_stage

    r = load_recipe(recipe, overrides or [])
    outcome = run_stage(r, stage, force=force, run_upstream=upstream)
    print_summary([outcome])


@app.command()
def reproduce(
    overrides: Overrides = None,
    recipe: RecipeOpt = DEFAULT_RECIPE,
    engine: Annotated[str, typer.Option(help="prefect (default when installed) or local")] = "auto",
) -> None:
    """Run the recipe's whole pipeline; finished stages are cache hits."""
    from opc_core.recipe import load_recipe
    from opc_core.run_summary import print_summary
    from opc_core.runner import run_pipeline

    r = load_recipe(recipe, overrides or [])  # validate everything before any work
    orchestrators = {ep.name: ep for ep in entry_points(group="opc.orchestrators")}
    if engine == "auto":
        engine = "prefect" if "prefect" in orchestrators else "local"
    if engine == "local":
        outcomes = run_pipeline(r)
    elif engine in orchestrators:
        outcomes = orchestrators[engine].load()(recipe, overrides or [])
    else:
        raise OpcError(f"unknown engine {engine!r}; available: local, {', '.join(orchestrators)}")
    print_summary(outcomes)
    from opc_core.run_report import write_report

    stderr_console.print(f"run report: {write_report(r)}", highlight=False, soft_wrap=True)


@app.command()
def status(
    workdir: Annotated[str | None, typer.Option(help="workdir (default: ./work or $OPC_WORKDIR)")] = None,
    recipe: Annotated[str | None, typer.Option("--recipe", "-r", help="use this recipe's workdir")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="a JSON list on stdout")] = False,
) -> None:
    """What exists in the workdir: each stage output, complete (cached) or not."""
    from rich.table import Table

    from opc_core.workdir import list_outputs

    wd = default_workdir(recipe, workdir)
    entries = list_outputs(wd)
    if as_json:
        sys.stdout.write(json.dumps([e.as_status() for e in entries], indent=2) + "\n")
        return
    table = Table(title=f"workdir {wd}")
    for col in ("stage", "key", "complete", "created", "counts", "uri"):
        table.add_column(col, overflow="fold")
    for e in entries:
        c = e.manifest.counts if e.manifest else None
        counts = f"in {c.records_in} kept {c.kept}" if c else ""
        s = e.as_status()
        table.add_row(e.stage, e.key, "yes" if e.complete else "NO (incomplete)", e.created or "", counts, s["uri"])
    stderr_console.print(table)


@app.command()
def lineage(
    output: Annotated[str, typer.Argument(help="an output URI, a content key (prefix) or a stage name")],
    workdir: Annotated[str | None, typer.Option(help="workdir to search")] = None,
) -> None:
    """Print the chain from an output back to the raw inputs."""
    from opc_core.lineage import find_output, format_lineage

    print(format_lineage(find_output(output, default_workdir(None, workdir))))


@app.command()
def gc(
    workdir: Annotated[str | None, typer.Option(help="workdir to clean")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="really delete (default: dry run)")] = False,
) -> None:
    """Remove outputs that no recipe run references any more (dry run unless --yes)."""
    from opc_core.garbage_collect import collect_garbage

    garbage = collect_garbage(default_workdir(None, workdir), delete=yes)
    verb = "removed" if yes else "would remove"
    for e in garbage:
        print(f"{verb} {e.stage}/{e.key} {'complete' if e.complete else 'incomplete'} {e.uri}")
    print(f"{verb} {len(garbage)} output(s)" + ("" if yes else " (dry run; pass --yes to delete)"))


def _load_plugins() -> None:
    """Sub-commands from stage packages; a broken one is reported, and the core commands still work."""
    import logging

    for group in ("opc.cli", "opc.commands"):
        for ep in entry_points(group=group):
            try:
                obj = ep.load()
            except Exception as exc:
                logging.getLogger("opc.cli").warning("plugin %s (%s) failed to load: %s", ep.name, ep.value, exc)
                continue
            if group == "opc.cli":
                app.add_typer(obj, name=ep.name)
            else:
                app.command(name=ep.name)(obj)


def main() -> None:
    setup_logging()
    try:
        _load_plugins()
        app()
    except OpcError as exc:
        _print_error(exc)
        sys.exit(2)
    except Exception as exc:  # a remote-storage failure from code that used a filesystem object directly
        from opc_core.remote_errors import explain

        explained = explain(exc)
        if explained is None:
            raise
        _print_error(explained)
        sys.exit(2)


def _print_error(exc: OpcError) -> None:
    stderr_console.print(f"[bold red]error:[/bold red] {exc}", markup=True, highlight=False, soft_wrap=True)


if __name__ == "__main__":
    main()
