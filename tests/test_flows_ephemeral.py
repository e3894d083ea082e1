"""A real Prefect run (ephemeral, in-process) of the reproduce flow: same outputs as the plain runner,
and a rerun after a crash resumes: finished stages are cache hits, the rest runs."""

from __future__ import annotations

from opc_core import storage
from opc_core.workdir import list_outputs


def test_reproduce_flow_runs_stages_and_rerun_is_cached(toy_recipe, calls, prefect_home):
    from flows.reproduce import run_reproduce

    recipe = toy_recipe()
    first = run_reproduce(recipe.source, [])
    assert [(o.stage, o.cached) for o in first] == [("words", False), ("totals", False)]
    second = run_reproduce(recipe.source, [])
    assert [o.cached for o in second] == [True, True]
    assert calls == {"words": 1, "totals": 1}
    assert {e.stage for e in list_outputs(recipe.workdir) if e.complete} == {"words", "totals"}


def test_flow_resumes_after_deleted_manifest(toy_recipe, calls, prefect_home):
    from flows.reproduce import run_reproduce

    recipe = toy_recipe()
    words, totals = run_reproduce(recipe.source, [])
    storage.remove(totals.manifest.path())  # as if the run crashed during `totals`
    again = run_reproduce(recipe.source, [])
    assert [o.cached for o in again] == [True, False]
    assert again[1].manifest.fingerprint == totals.manifest.fingerprint
