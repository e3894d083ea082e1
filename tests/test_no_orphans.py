"""Children die with their parent: ``kill -9`` of ``opc run data`` (pool workers), of ``opc reproduce``
(the temporary Prefect server), and Ctrl-C or ``kill -9`` of the ``make ui`` supervisor.

Each test starts the real command, waits until the children in question exist, kills the parent and
checks that no descendant it had is alive 5 s later.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")


def _start(args: list[str], tmp_path: Path, **env: str) -> subprocess.Popen:
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", "PREFECT_HOME": str(tmp_path / "prefect"), **env}
    full_env.pop("PREFECT_API_URL", None)
    log = open(tmp_path / "stderr.log", "wb")  # noqa: SIM115 (closed with the process)
    return subprocess.Popen(args, cwd=REPO, env=full_env, stdout=log, stderr=subprocess.STDOUT)


def _wait_for_descendants(proc: subprocess.Popen, found: Callable[[list[psutil.Process]], bool],
                          tmp_path: Path, timeout: float = 240.0) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"exited {proc.returncode} first:\n{(tmp_path / 'stderr.log').read_text()[-3000:]}")
        try:
            kids = psutil.Process(proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            kids = []
        if found(kids):
            return kids
        time.sleep(0.2)
    proc.kill()
    pytest.fail(f"children never appeared:\n{(tmp_path / 'stderr.log').read_text()[-3000:]}")


def _alive(procs: list[psutil.Process]) -> list[str]:
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(" ".join(p.cmdline())[:160])
        except psutil.NoSuchProcess:
            pass
    return out


def _assert_all_gone(descendants: list[psutil.Process], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while _alive(descendants) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = _alive(descendants)
    for p in descendants:  # never leave them behind, even when the test fails
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    assert not survivors, f"survived their parent by {within} s: {survivors}"


def _cmd(p: psutil.Process) -> str:
    try:
        return " ".join(p.cmdline())
    except psutil.NoSuchProcess:
        return ""


def test_kill_9_of_opc_run_data_takes_its_pool_workers_along(tmp_path, micro_recipe_path):
    proc = _start([sys.executable, "-m", "opc_core.cli", "run", "data", "--recipe", str(micro_recipe_path),
                   f"workdir={tmp_path / 'work'}", "data.engine.workers=2", "data.engine.records_per_shard=5"],
                  tmp_path)
    kids = _wait_for_descendants(proc, lambda ks: sum("spawn_main" in _cmd(k) for k in ks) >= 2, tmp_path)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _assert_all_gone(kids)


def test_kill_9_of_opc_reproduce_takes_the_prefect_server_along(tmp_path, micro_recipe_path):
    proc = _start([sys.executable, "-m", "opc_core.cli", "reproduce", "--recipe", str(micro_recipe_path),
                   f"workdir={tmp_path / 'work'}"], tmp_path)
    kids = _wait_for_descendants(proc, lambda ks: any("uvicorn" in _cmd(k) for k in ks), tmp_path)
    time.sleep(1.0)  # let the server get as far as listening
    kids = psutil.Process(proc.pid).children(recursive=True) or kids
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _assert_all_gone(kids)


_STUBBORN = "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(600)"


def test_supervisor_sigint_stops_children_that_ignore_sigint(tmp_path):
    """As `make ui` on Ctrl-C: SIGTERM to each child's group, SIGKILL after the grace period."""
    script = ("import sys; from opc_core.child_processes import supervise; "
              f"sys.exit(supervise([[sys.executable, '-c', {_STUBBORN!r}]] * 2, grace_s=2))")
    proc = _start([sys.executable, "-c", script], tmp_path)
    kids = _wait_for_descendants(proc, lambda ks: len(ks) >= 2, tmp_path, timeout=60)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=10)
    _assert_all_gone(kids, within=0.5)


def test_kill_9_of_the_supervisor_kills_its_children(tmp_path):
    ignore_term = _STUBBORN.replace("SIGINT", "SIGTERM")
    script = ("import sys; from opc_core.child_processes import supervise; "
              f"sys.exit(supervise([[sys.executable, '-c', {ignore_term!r}]] * 2))")
    proc = _start([sys.executable, "-c", script], tmp_path)
    kids = _wait_for_descendants(proc, lambda ks: len(ks) >= 2, tmp_path, timeout=60)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _assert_all_gone(kids)


@pytest.mark.slow
def test_ctrl_c_on_make_ui_stops_the_server_and_the_deployments(tmp_path, loopback_port):
    proc = _start(["bash", "scripts/serve_ui.sh", "recipes/tiny.yaml"], tmp_path, OPC_UI_PORT=str(loopback_port),
                  PREFECT_HOME=str(tmp_path / "prefect"))  # what `make ui` runs; bash execs the supervisor
    kids = _wait_for_descendants(proc, lambda ks: any("flows.deployments" in _cmd(k) for k in ks), tmp_path)
    time.sleep(3.0)  # the deployments process is importing Prefect and registering: a busy moment
    kids = psutil.Process(proc.pid).children(recursive=True) or kids
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)
    _assert_all_gone(kids)
