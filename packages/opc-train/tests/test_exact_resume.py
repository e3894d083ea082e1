"""Exact resume: a CPU run killed with SIGKILL and resumed logs the same losses, bit for bit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

WORKER = Path(__file__).with_name("train_worker.py")


def _run(*args: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPC_LOG_LEVEL": "WARNING"}
    return subprocess.Popen([sys.executable, str(WORKER), *args], env=env, **kw)


def _metrics(run_dir: Path) -> list[dict]:
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip().endswith("}")]


def test_sigkill_mid_run_then_resume_gives_bitwise_identical_losses(tmp_path: Path) -> None:
    data = tmp_path / "tokens"
    assert _run("data", str(data)).wait(60) == 0

    straight = tmp_path / "straight"
    assert _run("train", str(data), str(straight), "--max-steps", "30").wait(300) == 0

    killed = tmp_path / "killed"
    proc = _run("train", str(data), str(killed), "--max-steps", "30", "--slow", "0.2")
    deadline = time.time() + 240
    while time.time() < deadline:
        steps = [m["step"] for m in _metrics(killed) if "loss" in m]
        if steps and steps[-1] >= 14:  # past the step-10 checkpoint, before the step-20 one
            break
        assert proc.poll() is None, "the run ended before it could be killed"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    logged_before_kill = [m["step"] for m in _metrics(killed) if "loss" in m]
    assert 14 <= logged_before_kill[-1] < 20, logged_before_kill
    assert not (killed / "final").exists()
    assert sorted(p.name for p in (killed / "checkpoints").iterdir() if not p.name.startswith(".")) == ["step-00000010"]

    assert _run("train", str(data), str(killed), "--max-steps", "30").wait(300) == 0

    a, b = _metrics(straight), _metrics(killed)
    assert [(m["step"], m["loss"]) for m in a if "loss" in m] == [(m["step"], m["loss"]) for m in b if "loss" in m]
    assert [m["step"] for m in b if "loss" in m] == list(range(1, 31))  # no step logged twice
    assert [(m["step"], m["val_loss"]) for m in a if "val_loss" in m] == [
        (m["step"], m["val_loss"]) for m in b if "val_loss" in m
    ]
    assert (straight / "final" / "model.safetensors").read_bytes() == (killed / "final" / "model.safetensors").read_bytes()
    losses = [m["loss"] for m in a if "loss" in m]
    assert losses[-1] < losses[0] - 1.0  # it really trained
