"""The FSDP2 engine: parameters, gradients and optimizer state sharded across ranks, per block.

    FSDPEngine(model)   activation checkpointing ─▶ compile blocks ─▶ fully_shard (parallelize.py)
                        AdamW over the sharded (DTensor) parameters (optimizer.py)
    save / load         torch.distributed.checkpoint (DCP), every rank writes its shards:
                        <run>/checkpoints/fsdp/step-XXXXXXXX/{.metadata, __*_0.distcp, trainer_state.pt/.json}
                        written into .tmp-step-XXXXXXXX and renamed when complete (as our plain format)
    convert             convert_fsdp_checkpoint(<run>/checkpoints/fsdp, out_run_dir) ─▶ our plain
                        checkpoints/step-N (fp32 safetensors + trainer state, no optimizer moments), in
                        one process without a process group

On CUDA parameters are gathered in bf16 and gradients reduced in fp32 (``MixedPrecisionPolicy``); fp32
master weights and Adam moments stay sharded. On CPU (gloo) everything is fp32, and two ranks train
like one process within 1e-4 (the engine-parity test). Gradients are reduce-scattered on every
micro-batch (no unsharded gradient is kept between micro-batches: memory over communication, as
torchtitan does). A checkpoint resumes under FSDP with any process layout that keeps the global batch
(DCP reshards on load). Not here: process launching (``distributed.py``), the loop (``train_loop.py``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path

import torch

from opc_core.errors import OpcError
from opc_train.checkpoint import (
    TrainerState,
    list_step_dirs,
    prune_checkpoints,
    save_checkpoint,
    step_dir_name,
)
from opc_train.model import Transformer
from opc_train.optimizer import build_optimizer, clipped_step, set_lr
from opc_train.parallelize import apply_activation_checkpointing, apply_compile, apply_fsdp
from opc_train.process_group import DistContext, ensure_process_group
from opc_train.train_settings import TrainSettings

FSDP_DIR = ("checkpoints", "fsdp")


def fsdp_checkpoint_root(run_dir: str | Path) -> Path:
    return Path(run_dir).joinpath(*FSDP_DIR)


class FSDPEngine:
    """The train loop's engine interface over an FSDP2-sharded ``Transformer``."""

    def __init__(self, model: Transformer, settings: TrainSettings, dist: DistContext) -> None:
        self.model = model
        self.settings = settings
        self.dist = dist
        device = next(model.parameters()).device
        ensure_process_group(device)
        apply_activation_checkpointing(model, settings.activation_checkpointing)
        if settings.compile:
            apply_compile(model)
        apply_fsdp(model, device, dist.world_size)
        self.optimizer = build_optimizer(model, settings)

    def micro_context(self, last: bool):
        return contextlib.nullcontext()

    def forward_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.model(x, targets=y)  # summed token loss, chunked lm_head + cross-entropy

    def backward(self, loss_sum: torch.Tensor, n_tokens_global: int) -> None:
        # FSDP2 averages the reduce-scattered gradients over ranks (as DDP does): undo it, so the
        # gradient is d(sum of token losses of the global batch) / n_tokens_global.
        (loss_sum * (self.dist.world_size / n_tokens_global)).backward()

    def set_lr(self, lr: float) -> None:
        set_lr(self.optimizer, lr)

    def step(self, lr: float) -> float:
        return clipped_step(self.model, self.optimizer, self.settings.grad_clip)

    def eval_module(self) -> torch.nn.Module:
        return self.model

    def full_state_dict(self) -> dict[str, torch.Tensor]:
        """fp32 unsharded weights on rank 0 (a collective: every rank calls it; the others get {})."""
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

        options = StateDictOptions(full_state_dict=True, cpu_offload=True)
        return get_model_state_dict(self.model, options=options)

    def save(self, run_dir: Path, state: TrainerState) -> None:
        import torch.distributed.checkpoint as dcp
        from torch.distributed.checkpoint.state_dict import get_state_dict

        root = fsdp_checkpoint_root(run_dir)
        tag = step_dir_name(state.step)
        tmp = root / f".tmp-{tag}"
        if self.dist.rank == 0:
            root.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(tmp, ignore_errors=True)
        _barrier()
        model_sd, optim_sd = get_state_dict(self.model, self.optimizer)
        dcp.save({"model": model_sd, "optim": optim_sd}, checkpoint_id=str(tmp))
        _barrier()
        if self.dist.rank == 0:
            torch.save(state.__dict__, tmp / "trainer_state.pt")
            readable = {k: v for k, v in state.__dict__.items() if k in ("step", "tokens_seen", "schedule", "model_config")}
            (tmp / "trainer_state.json").write_text(json.dumps(readable, indent=2, sort_keys=True))
            _fsync_tree(tmp)
            final = root / tag
            if final.exists():  # a resumed run re-saving a step
                shutil.rmtree(final)
            os.rename(tmp, final)
            prune_checkpoints(root, self.settings.keep_last, self.settings.milestone_every)
        _barrier()

    def load(self, run_dir: Path) -> TrainerState | None:
        import torch.distributed.checkpoint as dcp
        from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict

        found = list_step_dirs(fsdp_checkpoint_root(run_dir))
        if not found:
            return None
        path = found[-1][1]
        if not (path / "trainer_state.pt").exists():
            raise OpcError("FSDP checkpoint folder is incomplete", where=str(path),
                           hint="delete it; the previous checkpoint is used instead")
        model_sd, optim_sd = get_state_dict(self.model, self.optimizer)
        loaded = {"model": model_sd, "optim": optim_sd}
        dcp.load(loaded, checkpoint_id=str(path))
        set_state_dict(self.model, self.optimizer, model_state_dict=loaded["model"], optim_state_dict=loaded["optim"])
        return TrainerState(**torch.load(path / "trainer_state.pt", weights_only=False))


def _barrier() -> None:
    import torch.distributed as tdist

    tdist.barrier()


def _fsync_tree(path: Path) -> None:
    for child in path.iterdir():
        with open(child, "rb+") as f:
            os.fsync(f.fileno())
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def convert_fsdp_checkpoint(fsdp_dir: str | Path, out_run_dir: str | Path, step: int | None = None) -> Path:
    """An FSDP (DCP) checkpoint -> our ``checkpoints/step-N`` (fp32 weights + trainer state, no optimizer
    moments) under ``out_run_dir``; ``load_checkpoint`` / plain-torch resume compatible. Runs in one
    process, no process group. ``step`` defaults to the latest complete checkpoint."""
    import tempfile

    from torch.distributed.checkpoint.format_utils import dcp_to_torch_save

    found = dict(list_step_dirs(Path(fsdp_dir)))
    if not found:
        raise OpcError("no complete FSDP checkpoint (step-XXXXXXXX folder)", where=str(fsdp_dir))
    path = found[max(found) if step is None else step]
    with tempfile.TemporaryDirectory() as tmp:
        dcp_to_torch_save(str(path), str(Path(tmp) / "full.pt"))
        full = torch.load(Path(tmp) / "full.pt", weights_only=False, map_location="cpu")
    weights = {k: v.float().contiguous() for k, v in full["model"].items()}
    state = TrainerState(**torch.load(path / "trainer_state.pt", weights_only=False))
    return save_checkpoint(out_run_dir, weights, None, state, keep_last=1 << 30)
