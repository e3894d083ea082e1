"""One Prefect flow per stage, and the task that runs a stage through the shared runner.

Caching: the stage content key *is* the cache. The task computes the key (config + upstream output
fingerprints + code version), names the task run after it, and ``run_stage`` skips the work when
``<workdir>/<stage>/<key>/_MANIFEST.json`` exists. We do not also persist Prefect task results: a
second cache could go stale when a manifest is deleted, and then a crash-resume would skip a stage
whose output is incomplete.
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from opc_core.recipe import load_recipe
from opc_core.runner import StageOutcome, plan_stage, run_stage


@task(cache_policy=NO_CACHE, task_run_name="{stage}")
def stage_task(recipe_path: str, overrides: list[str], stage: str, force: bool = False) -> dict:
    """Run one stage (or hit its cache); returns a small JSON-able summary for the UI."""
    recipe = load_recipe(recipe_path, overrides)
    key = plan_stage(recipe, stage).key
    logger = get_run_logger()
    logger.info("stage %s: content key %s", stage, key)
    outcome = run_stage(recipe, stage, force=force)
    logger.info("stage %s: %s (%s)", stage, "cache hit" if outcome.cached else "ran", outcome.manifest.uri)
    return outcome_to_dict(outcome)


def outcome_to_dict(o: StageOutcome) -> dict:
    return {
        "stage": o.stage,
        "key": o.key,
        "cached": o.cached,
        "seconds": round(o.seconds, 3),
        "uri": o.manifest.artifact_uri or o.manifest.uri,
        "counts": o.manifest.counts.as_dict() if o.manifest.counts else None,
        "summary": o.manifest.summary,
    }


def make_stage_flow(stage: str):
    """A flow that runs ``stage`` alone (its upstream outputs must be complete, as with `opc run`)."""

    @flow(name=f"stage-{stage}", flow_run_name=f"{stage}", log_prints=True)
    def stage_flow(recipe_path: str = "recipes/tiny.yaml", overrides: list[str] | None = None,
                   force: bool = False) -> dict:
        return stage_task(recipe_path, overrides or [], stage, force)

    return stage_flow
