"""Integration-test fixtures: Prefect settings for the whole session (one ephemeral API per session)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
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

    In a fresh process (``opc reproduce --engine local``), as a user runs it: the keys it records are then the
    ones any later ``opc`` command computes, whatever earlier tests imported or put on sys.path in this one.
    Torch runs single-threaded: a 0.2M-parameter model gains nothing from intra-op threads, and on a loaded
    2-core machine their spin-waits made the 40 steps ~9x slower (107 s vs 12 s, measured).
    """
    workdir = tmp_path_factory.mktemp("micro-work")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run([sys.executable, "-m", "opc_core.cli", "reproduce", "--engine", "local", "--recipe",
                           str(MICRO), f"workdir={workdir}"], env=env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    status = json.loads(subprocess.run([sys.executable, "-m", "opc_core.cli", "status", "--json", "--workdir",
                                        str(workdir)], env=env, capture_output=True, text=True, check=True).stdout)
    keys = {e["stage"]: e["key"] for e in status if e["complete"]}
    from opc_core.recipe import load_recipe

    assert set(keys) == set(load_recipe(MICRO).pipeline), keys
    return workdir, keys


@pytest.fixture(scope="session")
def micro_recipe_path() -> Path:
    """The micro recipe (tests/recipes/micro.yaml): the real pipeline on a tiny real input."""
    return MICRO


@dataclass
class PrefectUI:
    """A real Prefect server and the served deployments of the micro recipe cut to its data stage, started the
    way `make ui` starts them (``scripts/serve_ui.sh`` with ``OPC_UI_PORT``)."""

    port: int
    api: str
    recipe: Path
    workdir: Path
    logs: Path
    proc: subprocess.Popen


@pytest.fixture(scope="session")
def prefect_ui(tmp_path_factory) -> Iterator[PrefectUI]:
    """One server start per test session, shared by the API-triggered and the browser tests."""
    import yaml

    from opc_core.loopback import free_port

    root = tmp_path_factory.mktemp("prefect-ui")
    micro = yaml.safe_load(MICRO.read_text())
    micro.update(workdir=str(root / "work"), pipeline=["data"], schedule={"retrain_cron": "17 4 * * 1"})
    recipe = root / "micro-data.yaml"
    recipe.write_text(yaml.safe_dump(micro))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(OPC_UI_PORT=str(port), PREFECT_HOME=str(root / "prefect"), PYTHONUNBUFFERED="1")
    logs = root / "serve_ui.log"
    proc = subprocess.Popen(["bash", str(REPO / "scripts/serve_ui.sh"), str(recipe)], env=env, cwd=REPO,
                            stdout=open(logs, "w"), stderr=subprocess.STDOUT, start_new_session=True)
    ui = PrefectUI(port, f"http://127.0.0.1:{port}/api", recipe, root / "work", logs, proc)
    try:
        _wait_for_deployments(ui, timeout=240)
        yield ui
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _wait_for_deployments(ui: PrefectUI, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if ui.proc.poll() is not None:
            raise AssertionError(f"make ui exited early ({ui.proc.returncode}):\n{ui.logs.read_text()[-3000:]}")
        try:
            req = urllib.request.Request(f"{ui.api}/deployments/filter", data=b"{}", method="POST",
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=5) as r:
                if {d["name"] for d in json.load(r)} >= {"reproduce", "retrain", "data"}:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise AssertionError(f"deployments not served after {timeout}s:\n{ui.logs.read_text()[-3000:]}")
