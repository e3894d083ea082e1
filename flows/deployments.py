"""Deployments for the Prefect UI: ``reproduce``, one per stage, and ``retrain`` on the recipe's cron.

    python -m flows.deployments --recipe recipes/tiny.yaml      # what `make ui` runs (with a server)

Serves all deployments from this process (Prefect's ``serve``): the UI's Run button, the schedule
and ``prefect deployment run`` all land here. For Kubernetes, ``flows/prefect.yaml`` deploys the stage
flows to the Kubernetes work pools opc-cpu / opc-gpu instead (docs/cluster.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from flows.prefect_env import configure_prefect
from opc_core.recipe import load_recipe


def build_deployments(recipe_path: str) -> list:
    from prefect.schedules import Cron

    from flows.stage_flows import reproduce_flow, retrain_flow, stage_flow

    recipe = load_recipe(recipe_path)
    recipe_path = str(Path(recipe_path).resolve())
    params = {"recipe_path": recipe_path, "overrides": []}
    cron = recipe.schedule.retrain_cron
    schedule = Cron(cron, timezone=recipe.schedule.timezone) if cron else None
    deployments = [
        reproduce_flow.to_deployment(name="reproduce", parameters=params),
        retrain_flow.to_deployment(name="retrain", parameters=params, schedule=schedule),
    ]
    for stage in recipe.pipeline:
        deployments.append(stage_flow.to_deployment(name=stage, parameters={**params, "stage": stage}))
    return deployments


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", default="recipes/tiny.yaml")
    args = parser.parse_args(argv)
    configure_prefect(load_recipe(args.recipe).workdir)
    from prefect import serve

    serve(*build_deployments(args.recipe))


if __name__ == "__main__":
    main()
