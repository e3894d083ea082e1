"""The Prefect flows, at module level so deployments can load them by entrypoint.

    stage      runs one stage (parameter ``stage``); deployed once per stage: stage/data, stage/pretrain, ...
    reproduce  every stage of the recipe's pipeline, in order
    retrain    the reproduce pipeline on the recipe's cron (new raw data changes the data stage's external
               fingerprint, so everything downstream reruns; unchanged inputs are cache hits)

Caching: the stage content key *is* the cache. ``run_stage`` computes the key (config + upstream output
fingerprints + code version) and skips the work when
``<workdir>/<stage>/<key>/_MANIFEST.json`` exists. Prefect task results are not persisted as a second
cache: one that outlived a deleted manifest would make a crash-resume skip an incomplete stage.

Import this module only after ``flows.prefect_env.configure_prefect`` (Prefect reads settings at import).
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.run_artifacts import publish_report_link, publish_stage_artifact
from flows.stage_logging import stage_logs_to_prefect
from opc_core.recipe import load_recipe
from opc_core.runner import StageOutcome, run_stage


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


@task(cache_policy=NO_CACHE, task_run_name="{stage}")
def stage_task(recipe_path: str, overrides: list[str], stage: str, force: bool = False) -> dict:
    """Run one stage (or hit its cache); its logs go to this task run, its summary to an artifact."""
    run_logger = get_run_logger()
    with stage_logs_to_prefect(run_logger):
        outcome = run_stage(load_recipe(recipe_path, overrides), stage, force=force)
    run_logger.info("stage %s: content key %s, %s (%s)", stage, outcome.key,
                    "cache hit" if outcome.cached else "ran", outcome.manifest.uri)
    publish_stage_artifact(outcome.manifest, outcome.cached, outcome.seconds)
    return outcome_to_dict(outcome)


@flow(name="stage", flow_run_name="{stage}", log_prints=True)
def stage_flow(stage: str, recipe_path: str = "recipes/tiny.yaml", overrides: list[str] | None = None,
               force: bool = False) -> dict:
    """One stage alone; its upstream outputs must be complete (as with `opc run`)."""
    return stage_task(recipe_path, overrides or [], stage, force)


@flow(name="reproduce", log_prints=True)
def reproduce_flow(recipe_path: str = "recipes/tiny.yaml", overrides: list[str] | None = None) -> list[dict]:
    """Every stage of the recipe's pipeline in order; finished stages are cache hits."""
    from opc_core.run_report import write_report

    recipe = load_recipe(recipe_path, overrides or [])
    results = [stage_task(recipe_path, overrides or [], stage) for stage in recipe.pipeline]
    report = write_report(recipe)
    get_run_logger().info("run report: %s", report)
    publish_report_link(report)
    return results


@flow(name="retrain", log_prints=True)
def retrain_flow(recipe_path: str = "recipes/tiny.yaml", overrides: list[str] | None = None) -> list[dict]:
    """Scheduled retraining: the reproduce pipeline, re-fingerprinting the raw sources each time."""
    return reproduce_flow(recipe_path, overrides)
