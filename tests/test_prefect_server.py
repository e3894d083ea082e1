"""A real Prefect server on a free loopback port: deployments are registered (reproduce, one per stage,
retrain on the recipe's cron), `reproduce` is triggered through the API (what the UI's Run button does)
and completes; the server and the serving process are stopped by PID.

Uses the micro recipe cut to its data stage (a few seconds of real work) so the test measures Prefect,
not training. The deployments run flow runs in subprocesses, so only installed stages can be used here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.prefect_server

TRIGGER = r"""
import json, sys
from prefect.deployments import run_deployment
from prefect.client.orchestration import get_client
import anyio

async def deployments():
    async with get_client() as client:
        found = client.read_deployments()
        found = [d async for d in found] if hasattr(found, "__aiter__") else await found
        return sorted([f"{(await client.read_flow(d.flow_id)).name}/{d.name}" + (f" cron={d.schedules[0].schedule.cron}" if d.schedules else "")
                       for d in found])

print("DEPLOYMENTS " + json.dumps(anyio.run(deployments)), flush=True)
run = run_deployment("reproduce/reproduce", timeout=300)
print("STATE " + run.state.type.value, flush=True)
"""


def _wait_http(url: str, timeout: float, proc: subprocess.Popen) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"process exited early with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} not healthy after {timeout}s")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_server_deployments_and_api_triggered_reproduce(tmp_path, loopback_port, micro_recipe_path):
    import yaml

    from opc_core.recipe import load_recipe

    micro = yaml.safe_load(micro_recipe_path.read_text())
    micro.update(workdir=str(tmp_path / "work"), pipeline=["data"], schedule={"retrain_cron": "17 4 * * 1"})
    (tmp_path / "micro-data.yaml").write_text(yaml.safe_dump(micro))
    recipe = load_recipe(tmp_path / "micro-data.yaml")
    port = loopback_port
    api = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_LOGGING_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
    env.pop("PREFECT_API_URL", None)
    logs = tmp_path / "logs"
    logs.mkdir()
    prefect = str(Path(sys.executable).with_name("prefect"))
    server = subprocess.Popen([prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env=env,
                              stdout=open(logs / "server.log", "w"), stderr=subprocess.STDOUT, start_new_session=True)
    serving = None
    try:
        _wait_http(f"{api}/health", 120, server)
        client_env = {**env, "PREFECT_API_URL": api}
        serving = subprocess.Popen([sys.executable, "-m", "flows.deployments", "--recipe", recipe.source],
                                   env=client_env, cwd=REPO,
                                   stdout=open(logs / "serve.log", "w"), stderr=subprocess.STDOUT,
                                   start_new_session=True)
        deadline = time.time() + 120
        out = ""
        while time.time() < deadline:
            proc = subprocess.run([sys.executable, "-c", TRIGGER], env=client_env, cwd=REPO, capture_output=True,
                                  text=True, timeout=400)
            out = proc.stdout + proc.stderr
            if "STATE " in proc.stdout:
                break
            time.sleep(2)  # deployments not registered yet
        assert "STATE COMPLETED" in out, out + (logs / "serve.log").read_text()[-3000:]
        deployments = json.loads(out.split("DEPLOYMENTS ", 1)[1].splitlines()[0])
        assert {"reproduce/reproduce", "retrain/retrain cron=17 4 * * 1", "stage/data"} <= set(deployments)
        status = json.loads(subprocess.run([sys.executable, "-m", "opc_core.cli", "status", "--json", "--workdir",
                                            recipe.workdir], capture_output=True, text=True, check=True).stdout)
        assert {(e["stage"], e["complete"]) for e in status} == {("data", True)}
    finally:
        if serving is not None:
            _stop(serving)
        _stop(server)
    assert server.poll() is not None
