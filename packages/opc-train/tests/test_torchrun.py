"""torchrun DDP on CPU (gloo): 2 processes at the same global batch train like one process."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest

from opc_train.distributed import launch, write_job
from opc_train.token_shards import TokenShards
from opc_train.train_loop import read_metrics, train

_spec = importlib.util.spec_from_file_location("train_worker", Path(__file__).with_name("train_worker.py"))
worker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(worker)


@pytest.mark.slow
def test_two_gloo_processes_match_single_process_losses_within_1e4(tmp_path: Path, monkeypatch) -> None:
    train_uri, val_uri = worker.make_token_data(str(tmp_path / "tokens"))
    tr, va = TokenShards.open(train_uri), TokenShards.open(val_uri)
    # global batch 16 windows per step: one process 8 x 2 accumulation, or 2 ranks x 4 x 2 accumulation
    single = worker.settings(max_steps=10, micro=8, accum=2)
    train(worker.MODEL, single, tr, va, tmp_path / "single")
    ddp = worker.settings(max_steps=10, micro=4, accum=2)
    job = write_job(tmp_path / "job.json", worker.MODEL, ddp, train_uri, val_uri, str(tmp_path / "ddp"))
    launch(job, nproc=2, env={"OMP_NUM_THREADS": "1", "OPC_LOG_LEVEL": "WARNING"})

    a = [m for m in read_metrics(tmp_path / "single" / "metrics.jsonl") if "loss" in m]
    b = [m for m in read_metrics(tmp_path / "ddp" / "metrics.jsonl") if "loss" in m]
    assert [m["step"] for m in a] == [m["step"] for m in b] == list(range(1, 11))
    for x, y in zip(a, b, strict=True):
        assert abs(x["loss"] - y["loss"]) <= 1e-4 * abs(x["loss"]), (x["step"], x["loss"], y["loss"])
        assert x["tokens"] == y["tokens"] and x["lr"] == y["lr"]
    assert a[-1]["loss"] < a[0]["loss"]
    summary = json.loads((tmp_path / "ddp" / "summary.json").read_text())
    assert summary["world_size"] == 2
    assert abs(summary["final_val_loss"] - json.loads((tmp_path / "single" / "summary.json").read_text())
               ["final_val_loss"]) <= 1e-4 * summary["final_val_loss"]
    assert os.path.exists(tmp_path / "ddp" / "final" / "model.safetensors")
