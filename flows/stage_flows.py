"""The Prefect flows, at module level so deployments can load them by entrypoint.

    stage      runs one stage (parameter ``stage``); deployed once per stage: stage/data, stage/pretrain, ...
    reproduce  every stage of the recipe's pipeline, in order
    retrain    on the recipe's cron: a new *version* (opc_core.retrain): the whole pipeline the first time;
               later, only if new raw data arrived, the recipe's retrain stages on top of the last version
               (only new source units ingested, tokens appended, training continued, release N+1)

Caching: the stage content key *is* the cache. ``run_stage`` computes the key (config + upstream output
fingerprints + code version) and skips the work when
``<workdir>/<stage>/<key>/_MANIFEST.json`` exists. Prefect task results are not persisted as a second
cache: one that outlived a deleted manifest would make a crash-resume skip an incomplete stage.

Import this module only after ``flows.prefect_env.configure_prefect`` (Prefect reads settings at import).
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.run_artifacts import publish_report_link, publish_stage_artifact, publish_version_artifact
from flows.stage_logging import stage_logs_to_prefect
from opc_core.manifest import read_manifest
from opc_core.recipe import load_recipe
from opc_core.retrain import load_version, plan_retrain, record_version
from opc_core.runner import StageOutcome, run_stage


def outcome_to_dict(o: StageOutcome) -> dict:
    return {
        "stage": o.stage,
        "key": o.key,
        "cached": o.cached,
        "seconds": round(o.seconds, 3),
        "uri": o.manifest.artifact_uri or o.manifest.uri,
        "output_uri": o.manifest.uri,
        "counts": o.manifest.counts.as_dict() if o.manifest.counts else None,
        "summary": o.manifest.summary,
    }


@task(cache_policy=NO_CACHE, task_run_name="{stage}")
def stage_task(recipe_path: str, overrides: list[str], stage: str, force: bool = False,
               extend_version: int | None = None) -> dict:
    """Run one stage (or hit its cache); its logs go to this task run, its summary to an artifact.

    ``extend_version``: run it as part of a retrain on top of that recorded version (opc_core.retrain)."""
    run_logger = get_run_logger()
    recipe = load_recipe(recipe_path, overrides)
    extending = load_version(recipe, extend_version) if extend_version is not None else None
    with stage_logs_to_prefect(run_logger):
        outcome = run_stage(recipe, stage, force=force, extending=extending)
    run_logger.info("stage %s: content key %s, %s (%s)", stage, outcome.key,
                    "cache hit" if outcome.cached else "ran", outcome.manifest.uri)
    publish_stage_artifact(outcome.manifest, outcome.cached, outcome.seconds)
    return outcome_to_dict(outcome)


@flow(name="stage", flow_run_name="{stage}", log_prints=True)
def stage_flow(stage: str, recipe_path: str = "recipes/tiny.yaml", overrides: list[str] | None = None,
               force: bool = False, extend_version: int | None = None) -> dict:
    """One stage alone; its upstream outputs must be complete (as with `opc run`)."""
    return stage_task(recipe_path, overrides or [], stage, force, extend_version)


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
def retrain_flow(recipe_path: str = "recipes/tiny.yaml", overrides: list[str] | None = None) -> dict:
    """Scheduled retraining: a new version with only the new work, or nothing when no new raw data arrived."""
    from opc_core.run_report import write_report

    recipe = load_recipe(recipe_path, overrides or [])
    plan = plan_retrain(recipe)
    log = get_run_logger()
    log.info("retrain %s: %s", recipe.name, plan.reason)
    if plan.nothing_to_do:
        return {"version": None, "reason": plan.reason, "stages": []}
    extend = plan.extending.version if plan.extending else None
    results = [stage_task(recipe_path, overrides or [], stage, extend_version=extend) for stage in plan.stages]
    manifests = {r["stage"]: read_manifest(r["output_uri"]) for r in results}
    entry = record_version(recipe, plan, manifests)
    publish_version_artifact(entry, plan.reason, manifests)
    log.info("retrain %s: version %d recorded, extending %s", recipe.name, entry["version"],
             f"version {extend}" if extend else "nothing (first version)")
    report = write_report(recipe)
    log.info("run report: %s", report)
    publish_report_link(report)
    return {"version": entry["version"], "extends": extend, "reason": plan.reason, "stages": results}
