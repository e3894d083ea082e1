"""A real Prefect server started as `make ui` starts it (``scripts/serve_ui.sh`` on a free ``OPC_UI_PORT``):
deployments are registered (reproduce, one per stage, retrain on the recipe's cron), `reproduce` is triggered
through the API (what the UI's Run button does) and completes, and the run is readable: the data stage's log
lines are in the task run's logs and the stage-summary and run-report artifacts exist. The UI's own settings
point the browser at the port it serves on.

Uses the micro recipe cut to its data stage (a few seconds of real work) so the test measures Prefect, not
training. The server is shared with the browser test (tests/test_prefect_ui_browser.py): one start per session.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
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
print("RUN " + str(run.id), flush=True)
"""


def _post(api: str, path: str, body: dict) -> list[dict]:
    req = urllib.request.Request(f"{api}{path}", data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def test_ui_settings_follow_the_port(prefect_ui):
    with urllib.request.urlopen(f"http://127.0.0.1:{prefect_ui.port}/ui-settings", timeout=10) as r:
        assert json.load(r)["api_url"] == prefect_ui.api
    assert f"http://127.0.0.1:{prefect_ui.port}" in prefect_ui.logs.read_text()  # says where to open the browser


def test_server_deployments_and_api_triggered_reproduce(prefect_ui):
    from opc_core.recipe import load_recipe

    recipe = load_recipe(prefect_ui.recipe)
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_API_URL=prefect_ui.api, PREFECT_HOME=str(prefect_ui.workdir.parent / "client-home"))
    proc = subprocess.run([sys.executable, "-c", TRIGGER], env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=400)
    out = proc.stdout + proc.stderr
    assert "STATE COMPLETED" in out, out + prefect_ui.logs.read_text()[-3000:]
    deployments = json.loads(out.split("DEPLOYMENTS ", 1)[1].splitlines()[0])
    assert {"reproduce/reproduce", "retrain/retrain cron=17 4 * * 1", "stage/data"} <= set(deployments)
    status = json.loads(subprocess.run([sys.executable, "-m", "opc_core.cli", "status", "--json", "--workdir",
                                        recipe.workdir], capture_output=True, text=True, check=True).stdout)
    assert {(e["stage"], e["complete"]) for e in status} == {("data", True)}

    run_id = out.split("RUN ", 1)[1].split()[0]
    logs = _post(prefect_ui.api, "/logs/filter", {"logs": {"flow_run_id": {"any_": [run_id]}}, "limit": 200})
    messages = [entry["message"] for entry in logs]
    assert any(m.startswith("opc.data") and "data funnel" in m for m in messages), messages
    assert any("run report:" in m for m in messages), messages
    artifacts = _post(prefect_ui.api, "/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [run_id]}}})
    by_key = {a["key"]: a for a in artifacts}
    assert "stage-data" in by_key and "kept" in by_key["stage-data"]["data"], artifacts
    # Prefect stores a link artifact as markdown: [text](file:///.../report.html)
    link = re.search(r"file://(\S+?report\.html)", by_key["run-report"]["data"])
    assert link, by_key["run-report"]
    report = Path(link.group(1))
    assert report.is_file() and "Funnel per step" in report.read_text()
