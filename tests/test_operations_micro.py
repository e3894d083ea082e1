"""Operations on the real stages of the micro recipe: one writer per output for every stage kind (a forced
rerun while another process holds the output's lock stops naming it, and leaves the output alone; two
concurrent `opc run data` on one key: one writes, the other stops), and `opc lineage` prints each
ancestor once."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from opc_core import storage
from opc_core.output_lock import OutputLock

STAGES = ["data", "tokenize", "pretrain", "eval", "release"]


def _opc(*args: str, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "opc_core.cli", *args], capture_output=True, text=True, env=env, **kw)


@pytest.mark.parametrize("stage", STAGES)
def test_forced_rerun_of_a_stage_someone_is_writing_stops_naming_the_owner(micro_run, micro_recipe_path, stage):
    workdir, keys = micro_run
    out = storage.join(str(workdir), stage, keys[stage])
    with OutputLock(out):
        proc = _opc("run", stage, "--force", "--recipe", str(micro_recipe_path), f"workdir={workdir}", timeout=120)
    assert proc.returncode != 0
    assert f"another process is writing this output: pid {os.getpid()} on host {socket.gethostname()}" in proc.stderr
    assert out in proc.stderr and "Traceback" not in proc.stderr
    assert storage.exists(storage.join(out, "_MANIFEST.json"))  # --force did not delete it


def test_two_concurrent_data_runs_on_one_key_one_writes_the_other_stops(micro_recipe_path, tmp_path):
    args = [sys.executable, "-m", "opc_core.cli", "run", "data", "--recipe", str(micro_recipe_path),
            f"workdir={tmp_path}"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]
    results = [(p, *p.communicate(timeout=300)) for p in procs]
    winners = [r for r in results if r[0].returncode == 0]
    losers = [r for r in results if r[0].returncode != 0]
    assert len(winners) == 1 and len(losers) == 1, [r[2][-2000:] for r in results]
    assert f"another process is writing this output: pid {winners[0][0].pid}" in losers[0][2]


def test_lineage_prints_each_ancestor_once(micro_run):
    workdir, keys = micro_run
    proc = _opc("lineage", keys["release"], "--workdir", str(workdir))
    assert proc.returncode == 0, proc.stderr
    for stage in STAGES:
        assert proc.stdout.count(f"{stage} {keys[stage]}") == 1, proc.stdout
    sources = [line for line in proc.stdout.splitlines() if "raw source" in line]
    assert sources and len(sources) == len(set(sources))
