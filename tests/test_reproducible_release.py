"""Identical outputs from identical inputs: the micro recipe in two workdirs — once through the plain runner
(the session's ``micro_run``), once through ``opc reproduce`` (Prefect, which draws from Python's global
``random``) — gives the same content key for every stage and a byte-identical released folder; the
released files name outputs by stage and key, never by a machine path, and ``opc status`` still reports
absolute URIs.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from opc_core import storage


def _opc(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "opc_core.cli", *args], capture_output=True, text=True, env=env,
                          cwd=cwd)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_two_workdirs_give_the_same_keys_and_a_byte_identical_release(micro_run, micro_recipe_path, tmp_path):
    first_workdir, first_keys = micro_run
    second_workdir = tmp_path / "second"
    proc = _opc("reproduce", "--recipe", str(micro_recipe_path), f"workdir={second_workdir}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "starting the orchestrator (Prefect" in proc.stderr  # not ~30 s of silence first
    status = _opc("status", "--json", "--workdir", str(second_workdir))
    second_keys = {e["stage"]: e["key"] for e in json.loads(status.stdout)}
    assert second_keys == first_keys
    for e in json.loads(status.stdout):  # status keeps reporting where things are on this machine
        assert e["uri"].startswith(str(second_workdir))

    key = first_keys["release"]
    first = _files(Path(first_workdir, "release", key, "model"))
    second = _files(Path(second_workdir, "release", key, "model"))
    assert sorted(first) == sorted(second)
    assert [name for name in first if first[name] != second[name]] == []
    for name, data in first.items():
        for workdir in (first_workdir, second_workdir):
            assert str(workdir).encode() not in data, f"{name} names the workdir {workdir}"


def test_release_names_outputs_by_stage_and_key_and_says_samples_per_task(micro_run):
    workdir, keys = micro_run
    model_dir = Path(workdir, "release", keys["release"], "model")
    meta = json.loads((model_dir / "opc_release.json").read_text())
    assert meta["model"] == {"stage": "sft2", "key": keys["sft2"]}  # the micro recipe releases the instruct model
    card = (model_dir / "README.md").read_text()
    assert f"`pretrain/{keys['pretrain']}`" in card and f"`sft2/{keys['sft2']}`" in card and str(workdir) not in card
    header = next(line for line in card.splitlines() if line.startswith("| model | benchmark"))
    assert "samples per task" in header and "tasks" in header and "n_samples" not in header
    row = next(line for line in card.splitlines() if line.startswith("| instruct | humaneval"))
    assert row.split("|")[-3].strip() == "1"  # 3 tasks x 1 sample: one sample per task


def test_weights_are_written_with_the_umask_like_every_other_file(micro_run):
    workdir, keys = micro_run
    mask = os.umask(0)
    os.umask(mask)
    expected = 0o666 & ~mask
    for weights in (Path(workdir, "release", keys["release"], "model", "model.safetensors"),
                    Path(storage.join(str(workdir), "pretrain", keys["pretrain"]), "final", "model.safetensors")):
        assert stat.S_IMODE(weights.stat().st_mode) == expected, weights
