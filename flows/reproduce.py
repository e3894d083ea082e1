"""``opc reproduce`` through Prefect: the ``prefect`` orchestrator registered for the CLI.

Configures Prefect first (in-process ephemeral mode, state under the workdir, quiet) unless
``PREFECT_API_URL`` points at a server, then runs the ``reproduce`` flow and turns its results back
into the runner's outcomes for the summary table.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from flows.prefect_env import configure_prefect, ephemeral_server_dies_with_us
from opc_core.recipe import load_recipe
from opc_core.runner import StageOutcome
from opc_core.workdir import list_outputs


def run_reproduce(recipe_path: str, overrides: list[str]) -> list[StageOutcome]:
    recipe = load_recipe(recipe_path, overrides)
    configure_prefect(recipe.workdir)
    where = os.environ.get("PREFECT_API_URL") or "a temporary server on 127.0.0.1, ~15-30 s"
    logging.getLogger("opc.reproduce").info("starting the orchestrator (Prefect: %s)", where)
    ephemeral_server_dies_with_us()
    from flows.stage_flows import reproduce_flow

    results = reproduce_flow(str(Path(recipe_path)), overrides)
    by_key = {(e.stage, e.key): e for e in list_outputs(recipe.workdir)}
    return [
        StageOutcome(r["stage"], r["key"], r["cached"], by_key[(r["stage"], r["key"])].manifest, r["seconds"])
        for r in results
    ]
