"""``reproduce``: the whole lifecycle of a recipe as one Prefect flow; ``retrain`` is the same flow on a
schedule (new raw data changes the data stage's external fingerprint, so everything downstream reruns;
unchanged inputs are cache hits).

    data ─▶ tokenize ─▶ pretrain ─▶ eval ─▶ release      (the recipe's `pipeline` decides which)

``run_reproduce`` is what ``opc reproduce`` calls (registered as the ``prefect`` orchestrator): the flow
runs in-process in Prefect's ephemeral mode unless ``PREFECT_API_URL`` points at a server.
"""

from __future__ import annotations

from pathlib import Path

from flows.prefect_env import configure_prefect
from opc_core.recipe import load_recipe
from opc_core.runner import StageOutcome
from opc_core.workdir import list_outputs


def _build_flows():
    from prefect import flow

    from flows.stage_flows import stage_task

    @flow(name="reproduce", log_prints=True)
    def reproduce_flow(recipe_path: str = "recipes/tiny.yaml", overrides: list[str] | None = None) -> list[dict]:
        """Run every stage of the recipe's pipeline in order; finished stages are cache hits."""
        recipe = load_recipe(recipe_path, overrides or [])
        results = []
        for stage in recipe.pipeline:
            results.append(stage_task(str(recipe_path), overrides or [], stage))
        return results

    @flow(name="retrain", log_prints=True)
    def retrain_flow(recipe_path: str = "recipes/tiny.yaml", overrides: list[str] | None = None) -> list[dict]:
        """Scheduled retraining: the reproduce pipeline, re-fingerprinting the raw sources each time."""
        return reproduce_flow(recipe_path, overrides)

    return reproduce_flow, retrain_flow


def run_reproduce(recipe_path: str, overrides: list[str]) -> list[StageOutcome]:
    """The ``prefect`` orchestrator behind ``opc reproduce``."""
    recipe = load_recipe(recipe_path, overrides)
    configure_prefect(recipe.workdir)
    reproduce_flow, _ = _build_flows()
    results = reproduce_flow(str(Path(recipe_path)), overrides)
    outcomes = []
    by_key = {(e.stage, e.key): e for e in list_outputs(recipe.workdir)}
    for r in results:
        entry = by_key[(r["stage"], r["key"])]
        outcomes.append(StageOutcome(r["stage"], r["key"], r["cached"], entry.manifest, r["seconds"]))
    return outcomes
