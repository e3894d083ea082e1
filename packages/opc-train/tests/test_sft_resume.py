"""SFT resumes exactly: a CPU run killed with SIGKILL and resumed logs the same losses and ends with the same
weights, bit for bit, as one that never stopped (the shared loop's guarantee, with SFT batches)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

WORKER = Path(__file__).with_name("sft_worker.py")


def _run(*args: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPC_LOG_LEVEL": "WARNING"}
    return subprocess.Popen([sys.executable, str(WORKER), *args], env=env)


def _metrics(run_dir: Path) -> list[dict]:
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip().endswith("}")]


def test_sft_sigkill_then_resume_is_bitwise_identical(tmp_path: Path) -> None:
    straight = tmp_path / "straight"
    assert _run(str(straight)).wait(300) == 0

    killed = tmp_path / "killed"
    proc = _run(str(killed), "--slow", "0.15")
    deadline = time.time() + 240
    while time.time() < deadline:
        steps = [m["step"] for m in _metrics(killed) if "loss" in m]
        if steps and steps[-1] >= 11:  # past the step-8 checkpoint, before the step-16 one
            break
        assert proc.poll() is None, "the run ended before it could be killed"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert not (killed / "final").exists()
    assert [p.name for p in (killed / "checkpoints").iterdir() if not p.name.startswith(".")] == ["step-00000008"]

    assert _run(str(killed)).wait(300) == 0
    a, b = _metrics(straight), _metrics(killed)
    assert [(m["step"], m.get("loss"), m.get("val_loss")) for m in a] == [
        (m["step"], m.get("loss"), m.get("val_loss")) for m in b]
    assert (straight / "final" / "model.safetensors").read_bytes() == (killed / "final" / "model.safetensors").read_bytes()
    val = [m["val_loss"] for m in a if "val_loss" in m]
    assert val[-1] < val[0]  # it learned the answers
