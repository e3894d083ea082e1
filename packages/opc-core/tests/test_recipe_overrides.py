"""An override typo is blamed on the command line, quoted as typed (not on the recipe file), with a
did-you-mean; an input error stays short (at most 15 lines on stderr) and quick."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from opc_core.errors import RecipeError

MICRO = Path(__file__).resolve().parents[3] / "tests" / "recipes" / "micro.yaml"


def test_misspelt_stage_field_in_an_override_is_blamed_on_the_override(toy_recipe):
    with pytest.raises(RecipeError) as err:
        toy_recipe("totals.scael=3")
    text = str(err.value)
    assert text.startswith("command-line override 'totals.scael=3': stages.totals.scael")
    assert "did you mean totals.scale?" in text and "toy.yaml" not in text


def test_bad_value_in_an_override_is_blamed_on_the_override(toy_recipe):
    with pytest.raises(RecipeError, match=r"command-line override 'words.min_words=lots'"):
        toy_recipe("words.min_words=lots")


def test_bad_field_in_the_file_is_still_blamed_on_the_file(toy_recipe, tmp_path):
    recipe = toy_recipe()
    Path(recipe.source).write_text(Path(recipe.source).read_text().replace("min_words: 1", "min_wrds: 1"))
    with pytest.raises(RecipeError) as err:
        toy_recipe("totals.scale=2")
    assert str(err.value).startswith(f"{recipe.source}: stages.words.min_wrds")


def test_cli_override_typo_is_one_short_error_quoting_it_as_typed():
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "opc_core.cli", "run", "pretrain", "--recipe", str(MICRO),
                           "pretrain.max_stepz=30"], capture_output=True, text=True, timeout=60)
    assert time.monotonic() - t0 < 30
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) <= 15 and "Traceback" not in proc.stderr
    assert "command-line override 'pretrain.max_stepz=30'" in lines[0] and "max_steps" in proc.stderr
