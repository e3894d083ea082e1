"""The cluster's ``reproduce`` and ``retrain``: each stage runs as its own deployment, on its own pool.

    reproduce-on-pools  for every stage of the recipe's pipeline, in order: run the ``stage/<name>``
                        deployment (flows/prefect.yaml puts data/tokenize/... on opc-cpu, pretrain/eval/...
                        on opc-gpu) and wait for it; stop at the first stage that does not complete
    retrain-on-pools    the same, on the recipe's cron (deployed with a schedule in prefect.yaml)

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
    overrides = list(overrides or [])
    recipe = load_recipe(recipe_path, overrides)
    log = get_run_logger()
    done = []
    for stage in recipe.pipeline:
        name = stage_deployment(stage)
        log.info("stage %s: starting deployment %s", stage, name)
        run = run_deployment(name, parameters={"stage": stage, "recipe_path": recipe_path, "overrides": overrides},
                             timeout=None, as_subflow=True)
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
    """Scheduled retraining on the pools: new raw data changes the data stage's key, the rest follows."""
    return pools_reproduce_flow(recipe_path, overrides)
