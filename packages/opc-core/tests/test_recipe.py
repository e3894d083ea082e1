"""Recipes: validated whole before any work starts; errors name the field."""

from __future__ import annotations

import pytest

from opc_core.errors import RecipeError
from opc_core.recipe import load_recipe


def test_overrides_with_and_without_stages_prefix(toy_recipe):
    r = toy_recipe("words.min_words=3", "stages.words.lowercase=true", "seed=7")
    cfg = r.stage_config("words")
    assert (cfg.min_words, cfg.lowercase, r.seed) == (3, True, 7)


def test_wrong_type_fails_naming_the_field(toy_recipe, calls):
    with pytest.raises(RecipeError, match=r"stages\.words\.min_words"):
        toy_recipe("words.min_words=many")
    assert calls == {"words": 0, "totals": 0}


def test_unknown_field_fails_naming_the_field(toy_recipe):
    with pytest.raises(RecipeError, match=r"stages\.words\.min_wordz"):
        toy_recipe("words.min_wordz=3")


def test_unknown_top_level_field_and_stage(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\npipeline: [words]\nworkdirr: /tmp\n")
    with pytest.raises(RecipeError, match="workdirr"):
        load_recipe(bad)
    bad.write_text("name: x\npipeline: [wordz]\n")
    with pytest.raises(RecipeError, match="unknown stage"):
        load_recipe(bad)


def test_missing_recipe_file_is_a_clear_error(tmp_path):
    with pytest.raises(RecipeError, match="not found"):
        load_recipe(tmp_path / "nope.yaml")


def test_resolved_recipe_expands_defaults(toy_recipe):
    resolved = toy_recipe().resolved()
    assert resolved["stages"]["totals"] == {"scale": 1}
    assert resolved["stages"]["words"]["lowercase"] is False
