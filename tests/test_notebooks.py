"""The notebooks in notebooks/ run top to bottom on real outputs of the micro recipe.

One micro workdir is created once per test session (data -> tokenize -> pretrain -> ... through
``opc_core.runner``, whatever stages the micro recipe's pipeline names); each notebook then finds its
stage complete (a cache hit) and reads the outputs. The notebooks carry their own assertions (counts
add up, pass@k recomputed from verdicts, the lineage reaches raw sources), so a notebook that runs
but reads nonsense fails here. The kernel is this virtualenv's Python, registered in a temporary
Jupyter path (nothing is installed into the user's Jupyter).

Notebooks are committed without outputs: ``test_notebooks_are_committed_without_outputs`` checks it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
# the stage each notebook reads (its setup cell runs it with run_upstream=True)
NOTEBOOK_STAGE = {"01_data": "data", "02_train": "pretrain", "03_eval": "eval", "04_lineage": "release"}


@pytest.fixture(scope="session")
def kernel_env(tmp_path_factory) -> dict[str, str]:
    """A ``python3`` kernel spec for this interpreter in a private Jupyter path."""
    prefix = tmp_path_factory.mktemp("jupyter")
    subprocess.run([sys.executable, "-m", "ipykernel", "install", "--prefix", str(prefix), "--name", "python3"],
                   check=True, capture_output=True)
    return {"JUPYTER_PATH": str(prefix / "share" / "jupyter"), "JUPYTER_PLATFORM_DIRS": "1"}


def test_every_stage_family_has_a_notebook():
    assert {p.stem for p in NOTEBOOKS} == set(NOTEBOOK_STAGE)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_are_committed_without_outputs(path: Path):
    book = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(book.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; strip them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_on_micro_outputs(path: Path, micro_run, kernel_env, monkeypatch, micro_recipe_path):
    MICRO = micro_recipe_path
    from nbclient import NotebookClient

    from opc_core.recipe import load_recipe
    from opc_core.registry import stage_names

    micro_workdir, keys = micro_run
    stage = NOTEBOOK_STAGE[path.stem]
    recipe = load_recipe(MICRO, [f"workdir={micro_workdir}"])
    pipeline = recipe.pipeline
    if stage not in pipeline:
        pytest.skip(f"the micro recipe's pipeline {pipeline} has no {stage!r} stage "
                    f"(installed stages: {sorted(stage_names())})")
    for key, value in {**kernel_env, "OPC_NOTEBOOK_WORKDIR": str(micro_workdir),
                       "OPC_NOTEBOOK_RECIPE": str(MICRO), "MPLBACKEND": "Agg"}.items():
        monkeypatch.setenv(key, value)
    book = nbformat.read(path, as_version=4)
    client = NotebookClient(book, kernel_name="python3", timeout=300,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    outputs = "".join(o.get("text", "") for c in book.cells if c.cell_type == "code" for o in c.outputs)
    found = re.search(rf"^{stage} ([0-9a-f]+): (cache hit|ran) -> (.+)$", outputs, re.MULTILINE)
    assert found, f"{path.name} did not report which {stage} output it read"
    key, how, uri = found.groups()
    assert Path(uri).parent.parent == micro_workdir, f"{path.name} read {uri}, outside the session's workdir"
    if key == keys[stage]:  # a different key means stage code was edited mid-session: then a rerun is right
        assert how == "cache hit", f"{path.name} re-ran {stage} instead of reading the session's output"
