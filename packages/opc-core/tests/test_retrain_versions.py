"""Retrain versions (opc_core.retrain) on the toy stages: version 1 is the whole pipeline, a retrain without
new raw data does nothing, new raw data makes version 2 on top of version 1 (an extending stage gets its
previous output as the `previous` role, in its key), stages not redone are carried over, and
`opc gc` keeps every recorded version. The end-to-end retrain of real stages is tests/test_retrain.py."""

from __future__ import annotations

import pytest

from opc_core.errors import OpcError, RecipeError
from opc_core.garbage_collect import collect_garbage
from opc_core.retrain import plan_retrain, read_versions, retrain
from opc_core.runner import run_stage


@pytest.fixture
def tally_recipe(toy_recipe, tmp_path):
    def make(*overrides: str):
        return toy_recipe("pipeline=[words, totals, tally]", *overrides)
    return make


def test_first_retrain_is_version_one_then_nothing_without_new_data(tally_recipe, calls):
    recipe = tally_recipe()
    plan, outcomes = retrain(recipe)
    assert plan.version == 1 and [o.stage for o in outcomes] == ["words", "totals", "tally"]
    (v1,) = read_versions(recipe.workdir, "toy")
    assert v1["extends"] is None and set(v1["outputs"]) == {"words", "totals", "tally"}
    plan, outcomes = retrain(recipe)
    assert plan.nothing_to_do and "no new raw data since version 1" in plan.reason and outcomes == []
    assert len(read_versions(recipe.workdir, "toy")) == 1 and calls == {"words": 1, "totals": 1}


def test_a_deleted_source_file_is_no_new_data(tally_recipe, tmp_path):
    recipe = tally_recipe()
    retrain(recipe)
    (tmp_path / "src" / "f0.txt").unlink()  # the listing changed, but nothing in it is new
    plan, outcomes = retrain(recipe)
    assert plan.nothing_to_do and outcomes == []


def test_new_data_makes_version_two_extending_version_one(tally_recipe, tmp_path):
    recipe = tally_recipe()
    _, first = retrain(recipe)
    v1 = {o.stage: o.manifest for o in first}
    (tmp_path / "src" / "f9.txt").write_text("two more")
    plan, second = retrain(recipe)
    assert plan.version == 2 and plan.extending.version == 1 and "new raw data for words" in plan.reason
    v2 = {o.stage: o.manifest for o in second}
    assert v2["tally"].inputs["previous"].key == v1["tally"].key  # the output it extends, in its key
    assert v2["words"].counts.records_in == 1  # only the new file was read
    assert "previous" not in v2["totals"].inputs  # a stage without `extends` just reruns
    assert v2["tally"].metrics["running"] == v1["tally"].metrics["running"] + v2["tally"].metrics["new"]
    # the same stage without the previous version is another output (the role is part of the key)
    assert run_stage(recipe, "tally", run_upstream=True).key != v2["tally"].key
    v1_rec, v2_rec = read_versions(recipe.workdir, "toy")
    assert v2_rec["extends"] == 1 and v2_rec["outputs"]["tally"]["key"] == v2["tally"].key
    assert v1_rec["outputs"]["tally"]["key"] == v1["tally"].key
    garbage = {(e.stage, e.key) for e in collect_garbage(recipe.workdir)}
    assert not garbage & {(m.stage, m.key) for m in [*v1.values(), *v2.values()]}  # every version is kept


def test_stages_not_redone_are_carried_over(tally_recipe, tmp_path, calls):
    _, first = retrain(tally_recipe())
    (tmp_path / "src" / "f9.txt").write_text("two more")
    with pytest.raises(RecipeError, match="not in the pipeline"):
        tally_recipe("schedule.retrain_stages=[words, nope]")
    plan, second = retrain(tally_recipe("schedule.retrain_stages=[words, tally]"))
    assert [o.stage for o in second] == ["words", "tally"] and calls["totals"] == 1
    v2 = read_versions(plan.extending.outputs["words"].uri.rsplit("/words/", 1)[0], "toy")[-1]
    assert v2["outputs"]["totals"]["key"] == first[1].key  # version 1's output, as it was


def test_a_version_whose_output_is_gone_is_a_clear_error(tally_recipe, tmp_path):
    from opc_core import storage

    recipe = tally_recipe()
    _, first = retrain(recipe)
    storage.remove(first[1].manifest.uri)
    (tmp_path / "src" / "f9.txt").write_text("two more")
    with pytest.raises(OpcError, match="version 1's totals output is gone"):
        plan_retrain(recipe)


def test_opc_versions_lists_what_each_version_extends_and_ran(tally_recipe, tmp_path):
    import json

    from typer.testing import CliRunner

    from opc_core.cli import app

    recipe = tally_recipe()
    runner = CliRunner()
    empty = runner.invoke(app, ["versions", "--workdir", recipe.workdir])
    assert empty.exit_code == 0 and "no retrain has recorded a version yet" in empty.output
    retrain(recipe)
    (tmp_path / "src" / "f9.txt").write_text("two more")
    retrain(recipe)
    out = runner.invoke(app, ["versions", "--workdir", recipe.workdir])
    assert out.exit_code == 0, out.output
    rows = [line.split() for line in out.output.splitlines()[2:]]
    assert [(r[0], r[1], r[3], r[-1]) for r in rows] == [("toy", "1", "-", "words,totals,tally"),
                                                          ("toy", "2", "1", "words,totals,tally")]
    as_json = json.loads(runner.invoke(app, ["versions", "--json", "--workdir", recipe.workdir]).output)
    assert [v["version"] for v in as_json["toy"]] == [1, 2]
