"""DeepSpeed ZeRO on CPU (gloo, 2 ranks): same losses as plain torch; its checkpoints resume and convert.

All DeepSpeed cases share one test so the one-time JIT build of DeepSpeed's shared-memory comm op
(35-70 s cold) is paid once; it is cached in <repo>/.cache/torch_extensions.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
import torch

from opc_train.checkpoint import latest_checkpoint, load_checkpoint, load_weights
from opc_train.distributed import convert_deepspeed_checkpoint, launch, write_job
from opc_train.token_shards import TokenShards
from opc_train.train_loop import read_metrics, train
from opc_train.wsd_schedule import WSDSchedule

REPO = Path(__file__).resolve().parents[3]
_spec = importlib.util.spec_from_file_location("train_worker", Path(__file__).with_name("train_worker.py"))
worker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(worker)
ENV = {"OMP_NUM_THREADS": "1", "OPC_LOG_LEVEL": "WARNING", "TORCH_EXTENSIONS_DIR": str(REPO / ".cache" / "torch_extensions")}
CONSTANT_LR = WSDSchedule(peak_lr=3e-3, total_steps=10)  # a resumed run of fewer steps sees the same lr


def _losses(run_dir: Path) -> list[float]:
    return [m["loss"] for m in read_metrics(run_dir / "metrics.jsonl") if "loss" in m]


def _deepspeed_run(tmp_path: Path, name: str, zero_stage: int, train_uri: str, val_uri: str, run_dir: Path) -> None:
    s = worker.settings(max_steps=10, micro=4, accum=2, backend="deepspeed", zero_stage=zero_stage,
                        checkpoint_every=5, keep_last=5, schedule=CONSTANT_LR)
    launch(write_job(tmp_path / f"{name}.json", worker.MODEL, s, train_uri, val_uri, str(run_dir)), nproc=2, env=ENV)


@pytest.mark.slow
@pytest.mark.deepspeed
def test_zero2_and_zero3_match_plain_torch_and_checkpoints_resume_and_convert(tmp_path: Path) -> None:
    train_uri, val_uri = worker.make_token_data(str(tmp_path / "tokens"))
    tr, va = TokenShards.open(train_uri), TokenShards.open(val_uri)
    plain = tmp_path / "plain"
    train(worker.MODEL, worker.settings(max_steps=10, micro=8, accum=2, checkpoint_every=5, schedule=CONSTANT_LR),
          tr, va, plain)
    reference = _losses(plain)
    assert len(reference) == 10 and reference[-1] < reference[0]

    zero2, zero3 = tmp_path / "zero2", tmp_path / "zero3"
    _deepspeed_run(tmp_path, "zero2", 2, train_uri, val_uri, zero2)
    _deepspeed_run(tmp_path, "zero3", 3, train_uri, val_uri, zero3)
    for run in (zero2, zero3):
        losses = _losses(run)
        assert len(losses) == 10
        for step, (a, b) in enumerate(zip(reference, losses, strict=True), start=1):
            assert abs(a - b) <= 1e-3 * abs(a), (run.name, step, a, b)

    # Resume under DeepSpeed: a run dir holding only the step-5 ZeRO-2 checkpoint continues like the original.
    resumed = tmp_path / "zero2_resumed"
    ds_src, ds_dst = zero2 / "checkpoints" / "deepspeed", resumed / "checkpoints" / "deepspeed"
    ds_dst.mkdir(parents=True)
    shutil.copytree(ds_src / "step-00000005", ds_dst / "step-00000005")
    (ds_dst / "latest").write_text("step-00000005")
    _deepspeed_run(tmp_path, "resume", 2, train_uri, val_uri, resumed)
    again = [m for m in read_metrics(resumed / "metrics.jsonl") if "loss" in m]
    assert [m["step"] for m in again] == list(range(6, 11))
    for a, m in zip(_losses(zero2)[5:], again, strict=True):
        assert abs(a - m["loss"]) <= 1e-6 * abs(a), (m["step"], a, m["loss"])

    # Convert the ZeRO-3 (partitioned) checkpoint to our plain format: same weights as the run's final model.
    converted = tmp_path / "converted"
    path = convert_deepspeed_checkpoint(zero3 / "checkpoints" / "deepspeed", converted)
    weights, optimizer, state = load_checkpoint(path)
    final = load_weights(str(zero3 / "final" / "model.safetensors"))
    assert state.step == 10 and optimizer is None and set(weights) == set(final)
    assert all(torch.allclose(weights[k], final[k], rtol=0, atol=1e-6) for k in final)
    # ... and plain torch continues training from it (same global batch, fresh Adam moments)
    train(worker.MODEL, worker.settings(max_steps=12, micro=8, accum=1, checkpoint_every=0, schedule=CONSTANT_LR),
          tr, va, converted)
    assert [m["step"] for m in read_metrics(converted / "metrics.jsonl") if "loss" in m] == [11, 12]
    assert latest_checkpoint(converted).name == "step-00000010"


def test_deepspeed_config_is_generated_from_the_training_settings() -> None:
    from opc_core.errors import OpcError
    from opc_train.distributed import deepspeed_config

    s = worker.settings(micro=4, accum=3, backend="deepspeed", zero_stage=1, grad_clip=0.5,
                        deepspeed_config={"zero_optimization": {"overlap_comm": True}, "steps_per_print": 10})
    cfg = deepspeed_config(s, world_size=8, cuda=True)
    assert cfg["train_micro_batch_size_per_gpu"] == 4 and cfg["gradient_accumulation_steps"] == 3
    assert cfg["train_batch_size"] == 4 * 3 * 8 and cfg["gradient_clipping"] == 0.5
    assert cfg["zero_optimization"] == {"stage": 1, "overlap_comm": True} and cfg["steps_per_print"] == 10
    assert cfg["bf16"] == {"enabled": True} and not deepspeed_config(s, 1, cuda=False)["bf16"]["enabled"]
    with pytest.raises(OpcError, match="zero_stage"):
        deepspeed_config(worker.settings(zero_stage=4), world_size=1, cuda=False)
