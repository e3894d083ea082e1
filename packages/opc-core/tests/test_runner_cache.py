"""Content-addressed outputs: same key = cache hit; a deleted manifest redoes exactly that stage; downstream
reruns only if the upstream output fingerprint changed."""

from __future__ import annotations

import pytest

from opc_core import storage
from opc_core.errors import OpcError
from opc_core.manifest import read_manifest
from opc_core.runner import run_pipeline, run_stage


def test_second_run_is_all_cache_hits(toy_recipe, calls):
    recipe = toy_recipe()
    first = run_pipeline(recipe)
    assert [o.cached for o in first] == [False, False]
    second = run_pipeline(recipe)
    assert [o.cached for o in second] == [True, True]
    assert calls == {"words": 1, "totals": 1}
    assert second[1].manifest.metrics["total"] == 3 + 1 + 5


def test_counts_add_up_and_manifest_records_lineage(toy_recipe):
    words, totals = run_pipeline(toy_recipe())
    c = words.manifest.counts
    assert (c.records_in, c.kept, c.rejected, c.quarantined) == (4, 3, 1, 0)
    ref = totals.manifest.inputs["words"]
    assert (ref.key, ref.fingerprint) == (words.key, words.manifest.fingerprint)
    assert totals.manifest.recipe["stages"]["words"]["min_words"] == 1


def test_deleted_manifest_redoes_that_stage_and_leaves_downstream_cached(toy_recipe, calls):
    recipe = toy_recipe()
    words, totals = run_pipeline(recipe)
    storage.remove(words.manifest.path())
    redo_words, redo_totals = run_pipeline(recipe)
    assert (redo_words.cached, redo_totals.cached) == (False, True)
    assert redo_words.manifest.fingerprint == words.manifest.fingerprint
    assert calls == {"words": 2, "totals": 1}


def test_changed_config_recomputes_downstream(toy_recipe, calls):
    run_pipeline(toy_recipe())
    words, totals = run_pipeline(toy_recipe("words.min_words=2"))
    assert (words.cached, totals.cached) == (False, False)
    assert totals.manifest.metrics["total"] == 3 + 5


def test_config_change_with_same_output_keeps_downstream_cached(toy_recipe, calls):
    run_pipeline(toy_recipe())
    # lowercase changes no word count: new words key, same output bytes -> totals stays cached
    words, totals = run_pipeline(toy_recipe("words.lowercase=true"))
    assert (words.cached, totals.cached) == (False, True)


def test_volatile_files_do_not_change_the_fingerprint(toy_recipe):
    recipe = toy_recipe()
    _, totals = run_pipeline(recipe)
    storage.remove(totals.manifest.path())
    again = run_stage(recipe, "totals")
    assert not again.cached and again.manifest.fingerprint == totals.manifest.fingerprint


def test_missing_upstream_is_a_clear_error_unless_asked_to_run_it(toy_recipe):
    recipe = toy_recipe()
    with pytest.raises(OpcError, match="needs the 'words' output"):
        run_stage(recipe, "totals")
    outcome = run_stage(recipe, "totals", run_upstream=True)
    assert not outcome.cached and read_manifest(outcome.manifest.uri).key == outcome.key


def test_crash_leaves_no_manifest_and_rerun_completes(toy_recipe):
    from opc_core.registry import get_stage
    from opc_core.workdir import list_outputs

    recipe = toy_recipe()
    run_stage(recipe, "words")
    spec = get_stage("totals")
    original = spec.run

    def crash(config, ctx):
        storage.write_text_atomic(storage.join(ctx.output_uri, "partial.txt"), "half done")
        raise RuntimeError("simulated crash")

    object.__setattr__(spec, "run", crash)  # StageSpec is frozen; swap the function for this test only
    try:
        with pytest.raises(RuntimeError):
            run_stage(recipe, "totals")
    finally:
        object.__setattr__(spec, "run", original)
    incomplete = [e for e in list_outputs(recipe.workdir) if e.stage == "totals"]
    assert len(incomplete) == 1 and not incomplete[0].complete
    assert not run_stage(recipe, "totals").cached
