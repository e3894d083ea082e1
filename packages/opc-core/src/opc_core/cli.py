"""The ``opc`` command line: every stage runs alone from here, with no Prefect server.

    opc run <stage> --recipe recipes/tiny.yaml [key.sub=value ...]   one stage (cached by content key)
    opc reproduce --recipe recipes/tiny.yaml                          the whole pipeline (Prefect flow)
    opc retrain --recipe recipes/tiny.yaml                            a new version: only the new raw data's work
    opc versions [--json]                                             the versions retrains recorded
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


WorkdirOpt = Annotated[str | None, typer.Option("--workdir", help="workdir (same as the override workdir=DIR)")]
WorkdirArgs = Annotated[list[str] | None, typer.Argument(help="workdir=DIR (as for run)")]


def _with_workdir(overrides: list[str] | None, workdir: str | None) -> list[str]:
    """``--workdir DIR`` is the override ``workdir=DIR`` (given last, so it wins)."""
    return [*(overrides or []), *([f"workdir={workdir}"] if workdir else [])]


def default_workdir(recipe: str | None = None, workdir: str | None = None, overrides: list[str] | None = None) -> str:
    """--workdir, else a ``workdir=`` override, else the recipe's, else $OPC_WORKDIR, else ./work."""
    if workdir:
        return storage.normalize(workdir)
    for text in reversed(overrides or []):
        if text.startswith("workdir="):
            return storage.normalize(text.split("=", 1)[1])
    if recipe:
        from opc_core.recipe import load_recipe

        return load_recipe(recipe, overrides or []).workdir
    return storage.normalize(os.environ.get("OPC_WORKDIR", "work"))


@app.command()
def run(
    stage: Annotated[str, typer.Argument(help="stage name, e.g. data, tokenize, pretrain, eval, release")],
    overrides: Overrides = None,
    recipe: RecipeOpt = DEFAULT_RECIPE,
    workdir: WorkdirOpt = None,
    force: Annotated[bool, typer.Option(help="redo even if a complete output exists")] = False,
    upstream: Annotated[bool, typer.Option(help="also run missing upstream stages")] = False,
) -> None:
    """Run one stage alone (no Prefect). Skipped when its content key already has a complete output."""
    from opc_core.recipe import load_recipe
    from opc_core.run_summary import print_summary
    from opc_core.runner import run_stage

    overrides = _with_workdir(overrides, workdir)
    r = load_recipe(recipe, overrides)
    outcome = run_stage(r, stage, force=force, run_upstream=upstream)
    print_summary([outcome])


@app.command()
def reproduce(
    overrides: Overrides = None,
    recipe: RecipeOpt = DEFAULT_RECIPE,
    workdir: WorkdirOpt = None,
    engine: Annotated[str, typer.Option(help="prefect (default when installed) or local")] = "auto",
) -> None:
    """Run the recipe's whole pipeline; finished stages are cache hits."""
    from opc_core.recipe import load_recipe
    from opc_core.run_summary import print_summary
    from opc_core.runner import run_pipeline

    overrides = _with_workdir(overrides, workdir)
    r = load_recipe(recipe, overrides)  # validate everything before any work
    orchestrators = {ep.name: ep for ep in entry_points(group="opc.orchestrators")}
    if engine == "auto":
        engine = "prefect" if "prefect" in orchestrators else "local"
    if engine == "local":
        outcomes = run_pipeline(r)
    elif engine in orchestrators:
        outcomes = orchestrators[engine].load()(recipe, overrides)
    else:
        raise OpcError(f"unknown engine {engine!r}; available: local, {', '.join(orchestrators)}")
    from opc_core.run_report import write_report

    print_summary(outcomes, run_report=write_report(r))


@app.command()
def retrain(
    overrides: Overrides = None,
    recipe: RecipeOpt = DEFAULT_RECIPE,
    workdir: WorkdirOpt = None,
) -> None:
    """A new version of the recipe's outputs (what the scheduled ``retrain`` deployment does, without Prefect):
    the whole pipeline the first time; later, only when new raw data arrived, and then only the new work
    (new source units, appended tokens, training continued from the previous weights, a new release version)."""
    from opc_core.recipe import load_recipe
    from opc_core.retrain import retrain as run_retrain
    from opc_core.run_report import write_report
    from opc_core.run_summary import print_summary

    r = load_recipe(recipe, _with_workdir(overrides, workdir))
    plan, outcomes = run_retrain(r)
    stderr_console.print(f"retrain: {plan.reason}", markup=False, highlight=False, soft_wrap=True)
    if outcomes:
        print_summary(outcomes, run_report=write_report(r))


@app.command()
def versions(
    overrides: WorkdirArgs = None,
    workdir: WorkdirOpt = None,
    recipe: Annotated[str | None, typer.Option("--recipe", "-r", help="this recipe's versions (and workdir)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="the ledger(s) as JSON on stdout")] = False,
) -> None:
    """The versions retrains recorded (``<workdir>/_versions/<recipe>.json``): what each extends, what it ran."""
    from opc_core.retrain import format_versions, read_all_versions

    wd = default_workdir(recipe, workdir, overrides)
    name = None
    if recipe:
        from opc_core.recipe import load_recipe

        name = load_recipe(recipe, overrides or []).name
    ledgers = {k: v for k, v in read_all_versions(wd).items() if name is None or k == name}
    if as_json:
        sys.stdout.write(json.dumps(ledgers, indent=2) + "\n")
        return
    sys.stdout.write(format_versions(wd, ledgers) + "\n")


@app.command()
def status(
    overrides: WorkdirArgs = None,
    workdir: WorkdirOpt = None,
    recipe: Annotated[str | None, typer.Option("--recipe", "-r", help="use this recipe's workdir")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="a JSON list on stdout")] = False,
    wide: Annotated[bool, typer.Option("--wide", help="URIs in a column (a wide terminal) instead of own lines")]
    = False,
) -> None:
    """What exists in the workdir: each stage output, complete (cached) or not, in pipeline order."""
    from opc_core.workdir import format_status, list_outputs, pipeline_order, workdir_exists

    wd = default_workdir(recipe, workdir, overrides)
    if not workdir_exists(wd):
        if as_json:
            sys.stdout.write("[]\n")
        stderr_console.print(f"no workdir at {wd}: nothing has run there yet (pass --workdir DIR, workdir=DIR or "
                             "--recipe, or set OPC_WORKDIR)", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(0 if as_json else 1)
    entries = pipeline_order(list_outputs(wd))
    if as_json:
        sys.stdout.write(json.dumps([e.as_status() for e in entries], indent=2) + "\n")
        return
    sys.stdout.write(format_status(wd, entries, wide=wide) + "\n")


@app.command()
def lineage(
    output: Annotated[str, typer.Argument(help="an output URI, a content key (prefix) or a stage name")],
    workdir: WorkdirOpt = None,
) -> None:
    """Print the outputs an output was made from, back to the raw inputs (each one once)."""
    from opc_core.lineage import find_output, format_lineage

    print(format_lineage(find_output(output, default_workdir(None, workdir))))


@app.command()
def gc(
    workdir: WorkdirOpt = None,
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
