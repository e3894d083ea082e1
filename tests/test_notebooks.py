"""The notebooks in notebooks/ run top to bottom on the latest run of a workdir, and render to HTML.

One micro workdir is created once per test session (the micro recipe's whole pipeline through
``opc_core.runner``); ``scripts/render_notebooks.py`` (what ``make notebooks`` runs after ``make reproduce``)
then executes every notebook against it, with no hand-set path: each notebook finds the latest output of its
stage as ``opc status --json`` lists it. The notebooks carry their own assertions (counts add up, pass@k
recomputed from verdicts, the lineage reaches raw sources), so a notebook that runs but reads nonsense fails
here. Plots render inline (no forced backend): the executed copies must carry image outputs, and so must their
HTML renderings.

Notebooks are committed without outputs: ``test_notebooks_are_committed_without_outputs`` checks it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
# the stage each notebook reads (the latest complete output of it in the workdir)
NOTEBOOK_STAGE = {"01_data": "data", "02_train": "pretrain", "03_eval": "eval", "04_lineage": "release",
                  "05_synth": "synth"}
WITH_PLOTS = {"01_data", "02_train", "03_eval"}


def test_every_notebook_names_the_stage_it_reads():
    assert {p.stem for p in NOTEBOOKS} == set(NOTEBOOK_STAGE)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_are_committed_without_outputs(path: Path):
    book = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(book.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; strip them before committing"
    assert not any('matplotlib.use("Agg")' in c.source for c in book.cells), f"{path.name} forces a backend"


@pytest.fixture(scope="session")
def rendered(micro_run, tmp_path_factory) -> Path:
    workdir, _ = micro_run
    out = Path(os.environ.get("OPC_TEST_OUTPUTS", tmp_path_factory.mktemp("notebooks"))) / "notebooks"
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    proc = subprocess.run([sys.executable, str(REPO / "scripts/render_notebooks.py"), "--workdir", str(workdir),
                           "--out", str(out)], env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_reads_the_latest_run_and_renders(path: Path, rendered: Path, micro_run):
    micro_workdir, keys = micro_run
    stage = NOTEBOOK_STAGE[path.stem]
    book = nbformat.read(rendered / path.name, as_version=4)
    outputs = [o for c in book.cells if c.cell_type == "code" for o in c.outputs]
    text = "".join(o.get("text", "") for o in outputs)
    found = re.search(rf"^{stage} ([0-9a-f]+): latest run -> (.+)$", text, re.MULTILINE)
    assert found, f"{path.name} did not report which {stage} output it read"
    key, uri = found.groups()
    assert (key, Path(uri)) == (keys[stage], micro_workdir / stage / keys[stage])
    html = (rendered / path.with_suffix(".html").name).read_text(encoding="utf-8")
    if path.stem in WITH_PLOTS:
        assert any("image/png" in o.get("data", {}) for o in outputs), f"{path.name}: no inline plot"
        assert "data:image/png;base64," in html
