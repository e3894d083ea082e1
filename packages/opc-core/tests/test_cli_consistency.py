"""One CLI: ``--workdir DIR`` and ``workdir=DIR`` on every core command, ``opc status`` in pipeline order
within 100 columns (``--json`` keeps its shape), and a clear word when there is no workdir."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from opc_core.cli import app
from opc_core.runner import run_pipeline


def _opc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "opc_core.cli", *args], capture_output=True, text=True)


def test_run_accepts_workdir_option_and_override_alike(toy_recipe, tmp_path):
    recipe = toy_recipe()
    runner = CliRunner()
    by_option = runner.invoke(app, ["run", "words", "--recipe", recipe.source, "--workdir", str(tmp_path / "a")])
    assert by_option.exit_code == 0, by_option.output
    by_override = runner.invoke(app, ["run", "words", "--recipe", recipe.source, f"workdir={tmp_path / 'b'}"])
    assert by_override.exit_code == 0, by_override.output
    assert (tmp_path / "a" / "words").is_dir() and (tmp_path / "b" / "words").is_dir()
    for flag in (["--workdir", str(tmp_path / "a")], [f"workdir={tmp_path / 'a'}"]):
        proc = _opc("status", "--json", *flag)
        assert [e["stage"] for e in json.loads(proc.stdout)] == ["words"]


def test_status_lists_stages_in_pipeline_order_within_100_columns(toy_recipe):
    recipe = toy_recipe()
    words, totals = run_pipeline(recipe)
    proc = _opc("status", "--workdir", recipe.workdir)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert all(len(line) <= 100 for line in lines), lines
    stage_rows = [line.split()[0] for line in lines[2:] if not line.startswith(" ")]
    assert stage_rows == ["words", "totals"]  # words feeds totals (alphabetical order would say otherwise)
    assert f"    {totals.manifest.uri}" in lines  # the URI on its own line
    wide = _opc("status", "--wide", "--workdir", recipe.workdir).stdout
    assert any(line.startswith("totals") and line.endswith(totals.manifest.uri) for line in wide.splitlines())
    entries = json.loads(_opc("status", "--json", "--workdir", recipe.workdir).stdout)
    assert [e["stage"] for e in entries] == ["words", "totals"]
    assert all(set(e) == {"stage", "key", "uri", "complete", "created"} for e in entries)


def test_status_without_a_workdir_says_so(tmp_path):
    missing = tmp_path / "never-ran"
    proc = _opc("status", "--workdir", str(missing))
    assert proc.returncode == 1 and proc.stdout == ""
    assert f"no workdir at {missing}" in proc.stderr
    as_json = _opc("status", "--json", "--workdir", str(missing))
    assert as_json.returncode == 0 and json.loads(as_json.stdout) == []
