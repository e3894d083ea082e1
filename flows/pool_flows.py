"""The cluster's ``reproduce`` and ``retrain``: each stage runs as its own deployment, on its own pool.

    reproduce-on-pools  for every stage of the recipe's pipeline, in order: run the ``stage/<name>``
                        deployment (flows/prefect.yaml puts data/tokenize/... on opc-cpu, pretrain/eval/...
                        on opc-gpu) and wait for it; stop at the first stage that does not complete
    retrain-on-pools    on the recipe's cron (deployed with a schedule in prefect.yaml): a new version as in
                        opc_core.retrain, each stage of it as a run of its deployment with ``extend_version``

The in-process ``reproduce`` flow (stage_flows.py) runs every stage in one process, which on Kubernetes
would be one pod of one pool; this one only orchestrates (a small CPU pod) and each stage gets the pod its
pool's job template describes. Caching is the stage content key as everywhere: a stage whose output
exists completes at once in its own flow run.

Import this module only after ``flows.prefect_env.configure_prefect`` (Prefect reads settings at import).
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.deployments import run_deployment

from opc_core.recipe import load_recipe

STAGE_FLOW = "stage"  # the flow name of stage_flows.stage_flow: its deployments are "stage/<stage name>"


def stage_deployment(stage: str) -> str:
    return f"{STAGE_FLOW}/{stage}"


@flow(name="reproduce-on-pools", log_prints=True)
def pools_reproduce_flow(recipe_path: str = "recipes/tiny.yaml", overrides: list[str] | None = None) -> list[dict]:
    """Every stage of the pipeline as a flow run of its own deployment, in order."""
    recipe = load_recipe(recipe_path, list(overrides or []))
    return _run_stages(recipe_path, list(overrides or []), recipe.pipeline, None)


def _run_stages(recipe_path: str, overrides: list[str], stages: list[str], extend_version: int | None) -> list[dict]:
    log = get_run_logger()
    done = []
    for stage in stages:
        name = stage_deployment(stage)
        log.info("stage %s: starting deployment %s", stage, name)
        params = {"stage": stage, "recipe_path": recipe_path, "overrides": overrides}
        if extend_version is not None:
            params["extend_version"] = extend_version
        run = run_deployment(name, parameters=params, timeout=None, as_subflow=True)
        state = run.state
        done.append({"stage": stage, "deployment": name, "flow_run": str(run.id),
                     "state": state.type.value if state else "UNKNOWN"})
        if state is None or not state.is_completed():
            raise RuntimeError(f"stage {stage}: flow run {run.name} ({run.id}) of deployment {name} ended "
                               f"{state.type.value if state else 'without a state'}; see its logs, fix, and rerun "
                               f"(finished stages are cache hits)")
    return done


@flow(name="retrain-on-pools", log_prints=True)
def pools_retrain_flow(recipe_path: str = "recipes/tiny.yaml", overrides: list[str] | None = None) -> list[dict]:
    """Scheduled retraining on the pools: a new version (only the new work), or nothing without new raw data."""
    from opc_core.manifest import read_manifest
    from opc_core.retrain import plan_retrain, record_version
    from opc_core.runner import plan_stage

    overrides = list(overrides or [])
    recipe = load_recipe(recipe_path, overrides)
    plan = plan_retrain(recipe)
    get_run_logger().info("retrain %s: %s", recipe.name, plan.reason)
    if plan.nothing_to_do:
        return []
    extend = plan.extending.version if plan.extending else None
    done = _run_stages(recipe_path, overrides, plan.stages, extend)
    outputs = {s: read_manifest(plan_stage(recipe, s, extending=plan.extending).output_uri) for s in plan.stages}
    record_version(recipe, plan, outputs)
    return done
