"""Deployments for the Prefect UI: ``reproduce``, one per stage, and ``retrain`` on the recipe's cron.

    python -m flows.deployments --recipe recipes/tiny.yaml      # what `make ui` runs (with a server)

Serves all deployments from this process (Prefect's ``serve``): the UI's Run button, the schedule
and ``prefect deployment run`` all land here. For Kubernetes, ``flows/prefect.yaml`` deploys the same
flows to a Kubernetes work pool instead (see infra/).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from flows.prefect_env import configure_prefect
from opc_core.recipe import load_recipe


def build_deployments(recipe_path: str) -> list:
    from prefect.schedules import Cron

    from flows.reproduce import _build_flows
    from flows.stage_flows import make_stage_flow

    recipe = load_recipe(recipe_path)
    recipe_path = str(Path(recipe_path).resolve())
    params = {"recipe_path": recipe_path, "overrides": []}
    reproduce_flow, retrain_flow = _build_flows()
    deployments = [reproduce_flow.to_deployment(name="reproduce", parameters=params)]
    schedules = []
    if recipe.schedule.retrain_cron:
        schedules = [Cron(recipe.schedule.retrain_cron, timezone=recipe.schedule.timezone)]
    deployments.append(retrain_flow.to_deployment(name="retrain", parameters=params, schedules=schedules))
    for stage in recipe.pipeline:
        deployments.append(make_stage_flow(stage).to_deployment(name=stage, parameters=params))
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
