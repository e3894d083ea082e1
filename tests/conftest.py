"""Integration-test fixtures: Prefect settings for the whole session (one ephemeral API per session)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

MICRO = Path(__file__).resolve().parent / "recipes" / "micro.yaml"
_PREFECT_HOME = tempfile.mkdtemp(prefix="opc-prefect-home-")
# Prefect reads its settings at import time: set them before any test imports it.
os.environ.setdefault("PREFECT_HOME", _PREFECT_HOME)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.pop("PREFECT_API_URL", None)


@pytest.fixture(scope="session")
def prefect_home() -> str:
    return os.environ["PREFECT_HOME"]



@pytest.fixture(scope="session")
def micro_run(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """Run the micro recipe's whole pipeline once: (workdir, stage -> output key).

    Torch runs single-threaded meanwhile: a 0.2M-parameter model gains nothing from intra-op threads, and on
    a loaded 2-core machine their spin-waits made the 40 steps ~9x slower (107 s vs 12 s, measured).
    """
    import torch

    from opc_core.recipe import load_recipe
    from opc_core.runner import run_pipeline

    workdir = tmp_path_factory.mktemp("micro-work")
    recipe = load_recipe(MICRO, [f"workdir={workdir}"])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return workdir, {o.stage: o.key for o in run_pipeline(recipe)}
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def micro_recipe_path() -> Path:
    """The micro recipe (tests/recipes/micro.yaml): the real pipeline on a tiny real input."""
    return MICRO
