"""``opc synth ...``: the execution check alone (and, via ``opc run algorithmic|synth``, the stages).

    opc synth validate --input SAMPLES.jsonl --output DIR [--timeout 3] [--workers N]
    opc synth prompts --recipe R --output batch_input.jsonl [--model NAME] [overrides]   (opc_synth.batch_export)

Input rows: ``id`` (string), ``code`` and ``tests`` (Python source; tests run after the code in the
same program). DIR receives only ``part-*.parquet`` (``id`` str, ``passed`` bool, ``status`` in
passed/failed/timeout/error, short ``detail``) in input order, plus ``_SUMMARY.json`` (counts per
status and per reason). Exits 0 whenever the check ran, whatever the pass rate.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import typer

from opc_core.errors import OpcError

app = typer.Typer(help="Synthetic data: validate samples by execution in the sandbox.", no_args_is_help=True)

RESULT_SCHEMA = pa.schema([
    pa.field("id", pa.string()), pa.field("passed", pa.bool_()), pa.field("status", pa.string()),
    pa.field("detail", pa.string()),
])


def read_samples(path: str | Path):
    """The samples of a JSONL(.gz) file; a line that is not a JSON object with a string ``id`` is an error."""
    from opc_synth.validate import Sample

    p = Path(path)
    if not p.is_file():
        raise OpcError("samples file not found", where=str(p), hint="give a JSONL file with id, code, tests")
    from opc_core.jsonl import iter_jsonl

    out = []
    for n, row in iter_jsonl(p, "samples file"):
        if not isinstance(row, dict) or not isinstance(row.get("id"), str | int) or isinstance(row.get("id"), bool):
            raise OpcError(f"line {n} has no string `id`", where=str(p), hint="rows need id, code and tests")
        out.append(Sample(str(row["id"]), row.get("code"), row.get("tests")))
    return out


def write_results(out_dir: str | Path, verdicts, rows_per_shard: int = 50_000) -> dict:
    from collections import Counter

    from opc_core.dataset import ShardWriter

    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    foreign = sorted(p.name for p in d.iterdir() if not (p.is_file() and (p.name.startswith(("part-", "_")))))
    if foreign:
        raise OpcError(f"the output directory holds other files ({', '.join(foreign[:3])})", where=str(d),
                       hint="give an empty or new directory: it will hold only part-*.parquet and _SUMMARY.json")
    for old in d.iterdir():  # a previous run's shards and metadata are replaced
        old.unlink()
    with ShardWriter(str(d), RESULT_SCHEMA, rows_per_shard=rows_per_shard) as w:
        w.write_many({"id": v.id, "passed": v.passed, "status": v.status, "detail": v.detail} for v in verdicts)
    summary = {
        "samples": len(verdicts),
        "passed": sum(v.passed for v in verdicts),
        "statuses": dict(sorted(Counter(v.status for v in verdicts).items())),
        "reasons": dict(sorted(Counter(v.reason for v in verdicts).items())),
    }
    (d / "_SUMMARY.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


@app.command()
def validate(
    input: Annotated[str, typer.Option("--input", help="JSONL(.gz): id, code, tests")],
    output: Annotated[str, typer.Option("--output", help="directory for part-*.parquet and _SUMMARY.json")],
    timeout: Annotated[float, typer.Option(help="seconds per program (from its start)")] = 3.0,
    workers: Annotated[int | None, typer.Option(help="parallel sandboxes (default: 2 per CPU, at most 32)")] = None,
) -> None:
    """Run each sample's code + tests in the sandbox; passed only if the program reaches its end."""
    from opc_core.progress import setup_logging
    from opc_synth.validate import validate as run_validation

    setup_logging()
    if timeout <= 0:
        raise OpcError(f"--timeout must be positive, not {timeout}")
    samples = read_samples(input)
    # two sandboxes per core: a hanging sample mostly waits out its timeout, and a 2-core machine then
    # spends half the wall time on them (360 mixed rows with 60 hangs: 59 s vs 105 s at one per core)
    workers = workers or min(32, 2 * (os.cpu_count() or 1))
    verdicts = run_validation(samples, timeout_s=timeout, workers=workers)
    summary = write_results(output, verdicts)
    sys.stderr.write(json.dumps({k: summary[k] for k in ("samples", "passed", "statuses")}) + "\n")


@app.command()
def prompts(
    output: Annotated[str, typer.Option("--output", help="the batch job's input JSONL to write")],
    recipe: Annotated[str, typer.Option("--recipe", "-r", help="recipe YAML")] = "recipes/tiny.yaml",
    model: Annotated[str | None, typer.Option(help="model name in each request body (default: teacher.model)")] = None,
    overrides: Annotated[list[str] | None, typer.Argument(help="key.sub=value overrides")] = None,
) -> None:
    """Write the prompts the synth stage would send as an OpenAI batch input file (nothing is sent)."""
    from opc_core.manifest import try_read_manifest
    from opc_core.recipe import load_recipe
    from opc_core.runner import plan_stage
    from opc_synth.batch_export import write_batch_requests

    r = load_recipe(recipe, overrides or [])
    cfg = r.stage_config("synth")
    uris = {}
    for stage in dict.fromkeys([*cfg.seed_stages, "data"]):
        uri = plan_stage(r, stage).output_uri
        if try_read_manifest(uri) is None:
            raise OpcError(f"the {stage!r} output of this recipe is not complete", where=uri,
                           hint=f"run `opc run {stage} --recipe {recipe}` first")
        uris[stage] = uri
    n = write_batch_requests(cfg, uris, r.seed, output, model)
    sys.stderr.write(json.dumps({"requests": n, "output": output}) + "\n")
