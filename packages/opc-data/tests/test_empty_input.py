"""An empty corpus is refused where it starts: the data stage raises a clear error and writes no manifest
for an input with zero records or zero kept records (instead of a "complete" output that fails at
tokenize), unless the recipe says ``allow_empty: true``."""

from __future__ import annotations

from pathlib import Path

import pytest

from opc_core.errors import OpcError
from opc_core.manifest import try_read_manifest
from opc_core.recipe import load_recipe
from opc_core.runner import plan_stage, run_stage

MICRO = Path(__file__).resolve().parents[3] / "tests" / "recipes" / "micro.yaml"


def _recipe(tmp_path: Path, source: Path, *extra: str):
    return load_recipe(MICRO, [f"workdir={tmp_path / 'work'}", "data.report=false",
                               f"data.ingest.sources=[{{kind: uri, uri: '{source}', format: directory}}]", *extra])


def test_input_with_no_records_is_refused_naming_the_source(tmp_path):
    empty = tmp_path / "repos"
    empty.mkdir()
    recipe = _recipe(tmp_path, empty)
    with pytest.raises(OpcError) as err:
        run_stage(recipe, "data")
    assert "the input has no records" in str(err.value) and str(empty) in str(err.value)
    assert "allow_empty" in str(err.value)
    assert try_read_manifest(plan_stage(recipe, "data").output_uri) is None


def test_input_with_no_record_kept_is_refused_with_the_counts(tmp_path):
    repo = tmp_path / "repos" / "octo" / "blob"
    repo.mkdir(parents=True)
    (repo / "data.py").write_bytes(bytes(range(256)) * 8)  # binary: quarantined
    recipe = _recipe(tmp_path, tmp_path / "repos")
    with pytest.raises(OpcError, match=r"no record was kept: all 1 were removed \(0 rejected, 1 quarantined\)"):
        run_stage(recipe, "data")


def test_allow_empty_accepts_an_empty_input(tmp_path):
    empty = tmp_path / "repos"
    empty.mkdir()
    outcome = run_stage(_recipe(tmp_path, empty, "data.allow_empty=true"), "data")
    assert outcome.manifest.counts.records_in == 0
