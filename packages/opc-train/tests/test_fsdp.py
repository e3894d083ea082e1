"""FSDP2 on CPU (gloo, 2 ranks): same losses as plain torch; its DCP checkpoints resume and convert to our format."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest
import torch

from opc_train.checkpoint import latest_checkpoint, load_checkpoint, load_weights
from opc_train.distributed import launch, write_job
from opc_train.fsdp_engine import convert_fsdp_checkpoint
from opc_train.metrics import read_metrics
from opc_train.token_shards import TokenShards
from opc_train.train_loop import train
from opc_train.wsd_schedule import WSDSchedule

_spec = importlib.util.spec_from_file_location("train_worker", Path(__file__).with_name("train_worker.py"))
worker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(worker)
ENV = {"OMP_NUM_THREADS": "1", "OPC_LOG_LEVEL": "WARNING"}
CONSTANT_LR = WSDSchedule(peak_lr=3e-3, total_steps=10)  # a resumed run of fewer steps sees the same lr


def _rows(run_dir: Path) -> list[dict]:
    return [m for m in read_metrics(run_dir / "metrics.jsonl") if "loss" in m]


def _fsdp_run(tmp_path: Path, name: str, train_uri: str, val_uri: str, run_dir: Path, **kw) -> None:
    s = worker.settings(max_steps=10, micro=4, accum=2, backend="fsdp", checkpoint_every=5, keep_last=5,
                        schedule=CONSTANT_LR, **kw)
    launch(write_job(tmp_path / f"{name}.json", worker.MODEL, s, train_uri, val_uri, str(run_dir)), nproc=2, env=ENV)


@pytest.mark.slow
def test_fsdp2_two_gloo_ranks_match_plain_torch_and_checkpoints_resume_and_convert(tmp_path: Path) -> None:
    train_uri, val_uri = worker.make_token_data(str(tmp_path / "tokens"))
    tr, va = TokenShards.open(train_uri), TokenShards.open(val_uri)
    plain = tmp_path / "plain"
    train(worker.MODEL, worker.settings(max_steps=10, micro=8, accum=2, checkpoint_every=5, schedule=CONSTANT_LR),
          tr, va, plain)
    fsdp = tmp_path / "fsdp"
    _fsdp_run(tmp_path, "fsdp", train_uri, val_uri, fsdp)

    a, b = _rows(plain), _rows(fsdp)
    assert [m["step"] for m in a] == [m["step"] for m in b] == list(range(1, 11))
    for x, y in zip(a, b, strict=True):
        assert abs(x["loss"] - y["loss"]) <= 1e-4 * abs(x["loss"]), (x["step"], x["loss"], y["loss"])
        assert abs(x["grad_norm"] - y["grad_norm"]) <= 1e-4 * abs(x["grad_norm"]), (x["step"], "grad_norm")
        assert x["tokens"] == y["tokens"] and x["lr"] == y["lr"]
    assert a[-1]["loss"] < a[0]["loss"]
    summary = json.loads((fsdp / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["backend"] == "fsdp"
    plain_val = json.loads((plain / "summary.json").read_text())["final_val_loss"]
    assert abs(summary["final_val_loss"] - plain_val) <= 1e-4 * plain_val
    assert sorted(p.name for p in (fsdp / "checkpoints" / "fsdp").iterdir()) == ["step-00000005", "step-00000010"]

    # Resume under FSDP: a run dir holding only the step-5 checkpoint continues like the original.
    resumed = tmp_path / "fsdp_resumed"
    (resumed / "checkpoints" / "fsdp").mkdir(parents=True)
    shutil.copytree(fsdp / "checkpoints" / "fsdp" / "step-00000005", resumed / "checkpoints" / "fsdp" / "step-00000005")
    _fsdp_run(tmp_path, "resume", train_uri, val_uri, resumed)
    again = _rows(resumed)
    assert [m["step"] for m in again] == list(range(6, 11))
    for x, y in zip(b[5:], again, strict=True):
        assert x["loss"] == y["loss"], (x["step"], x["loss"], y["loss"])

    # Convert the sharded (DCP) checkpoint to our plain format: the run's final weights; plain torch continues.
    converted = tmp_path / "converted"
    path = convert_fsdp_checkpoint(fsdp / "checkpoints" / "fsdp", converted)
    weights, optimizer, state = load_checkpoint(path)
    final = load_weights(str(fsdp / "final" / "model.safetensors"))
    assert state.step == 10 and optimizer is None and set(weights) == set(final)
    assert all(torch.equal(weights[k], final[k]) for k in final)
    train(worker.MODEL, worker.settings(max_steps=12, micro=8, accum=1, checkpoint_every=0, schedule=CONSTANT_LR),
          tr, va, converted)
    assert [m["step"] for m in _rows(converted)] == [11, 12]
    assert latest_checkpoint(converted).name == "step-00000010"


@pytest.mark.slow
def test_fsdp2_honours_compile_and_selective_checkpointing_in_one_process(tmp_path: Path) -> None:
    """One torchrun rank (the recipe path for nproc 1): every block compiled, the same losses as eager plain torch."""
    train_uri, val_uri = worker.make_token_data(str(tmp_path / "tokens"), n_train_docs=60)
    tr, va = TokenShards.open(train_uri), TokenShards.open(val_uri)
    common = dict(max_steps=10, micro=8, accum=1, checkpoint_every=0, eval_every=0, schedule=CONSTANT_LR)
    train(worker.MODEL, worker.settings(**common), tr, va, tmp_path / "plain")
    s = worker.settings(backend="fsdp", compile=True, activation_checkpointing="selective", **common)
    launch(write_job(tmp_path / "job.json", worker.MODEL, s, train_uri, val_uri, str(tmp_path / "fsdp")), nproc=1,
           env=ENV)
    summary = json.loads((tmp_path / "fsdp" / "summary.json").read_text())
    assert summary["compiled_blocks"] == worker.MODEL.n_layers and summary["backend"] == "fsdp"
    assert json.loads((tmp_path / "plain" / "summary.json").read_text())["compiled_blocks"] == 0
    for x, y in zip(_rows(tmp_path / "plain"), _rows(tmp_path / "fsdp"), strict=True):
        assert abs(x["loss"] - y["loss"]) <= 1e-4 * x["loss"], (x["step"], x["loss"], y["loss"])
