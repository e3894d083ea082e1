"""Training checkpoints: everything needed to continue a run exactly, written atomically.

    <run>/checkpoints/step-00000200/
        model.safetensors     fp32 weights, transformers LlamaForCausalLM names
        optimizer.pt          torch optimizer state_dict (AdamW moments, step counts)
        trainer_state.pt      step, tokens seen, schedule, data-loader position, RNG states (python,
                              numpy, torch), model config
        trainer_state.json    the same scalars, readable (step, tokens_seen, schedule, model_config)
    <run>/final/model.safetensors + model_config.json    the product (eval, release: ``load_final``)

Atomicity: a checkpoint is written into ``checkpoints/.tmp-step-XXXXXXXX-<pid>/`` (each file fsynced)
and renamed to ``step-XXXXXXXX`` in one ``os.rename``; readers only ever look at ``step-*`` folders, so a
crash mid-save leaves the previous checkpoint the latest usable one, and the stale temp folder is
swept on the next save. Retention keeps the last ``keep_last`` plus every milestone (a step divisible
by ``milestone_every``, e.g. stable-phase checkpoints to branch annealing from).

Checkpoints are written on a local filesystem (the trainer's run dir); a stage whose output is on
s3:// trains in local scratch and uploads the finished output. Not here: DeepSpeed's own checkpoint
format (``distributed.py`` converts it to this one).
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from opc_core import storage
from opc_core.errors import OpcError
from opc_train.model import ModelConfig, Transformer

STEP_DIR = re.compile(r"^step-(\d{8})$")
MODEL_FILE = "model.safetensors"
CONFIG_FILE = "model_config.json"


def step_dir_name(step: int) -> str:
    return f"step-{step:08d}"


def rng_state() -> dict[str, Any]:
    """The random streams training draws from, and only those: torch's (initialisation, dropout).

    Python's global ``random`` and numpy's global generator are not ours: other code in the process draws
    from them (Prefect picks its temporary server's port with ``random.choice``), so checkpointing them made
    the same training under ``opc reproduce`` give different bytes. The data loader owns its numpy
    ``Generator`` and checkpoints its own position.
    """
    return {"torch": torch.get_rng_state()}


def set_rng_state(state: dict[str, Any]) -> None:
    if "python" in state:  # checkpoints written before rng_state owned only torch's stream
        random.setstate(state["python"])
    if "numpy" in state:
        np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _save_file(path: Path, write) -> None:
    write(path)
    storage.umask_permissions(path)  # safetensors writes 0600; every other file follows the umask
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def save_weights(state_dict: dict[str, torch.Tensor], path: Path) -> None:
    """fp32, contiguous, CPU tensors in safetensors (deterministic bytes for the same weights)."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in state_dict.items()}
    _save_file(path, lambda p: save_file(tensors, str(p), metadata={"format": "pt"}))


def load_weights(uri: str) -> dict[str, torch.Tensor]:
    from safetensors.torch import load

    return load(storage.read_bytes(uri))


@dataclass
class TrainerState:
    """What besides weights and optimizer a resumed run needs to continue bit-for-bit."""

    step: int
    tokens_seen: int
    schedule: dict[str, Any]
    loader: dict[str, Any]
    rng: dict[str, Any]
    model_config: dict[str, Any]
    extra: dict[str, Any]


def save_checkpoint(
    run_dir: str | Path,
    model_state: dict[str, torch.Tensor],
    optimizer_state: dict[str, Any] | None,
    state: TrainerState,
    keep_last: int = 2,
    milestone_every: int | None = None,
) -> Path:
    """Write ``checkpoints/step-XXXXXXXX`` atomically, then prune old ones; returns its path."""
    ckpt_root = Path(run_dir) / "checkpoints"
    ckpt_root.mkdir(parents=True, exist_ok=True)
    final = ckpt_root / step_dir_name(state.step)
    tmp = ckpt_root / f".tmp-{step_dir_name(state.step)}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    save_weights(model_state, tmp / MODEL_FILE)
    if optimizer_state is not None:
        _save_file(tmp / "optimizer.pt", lambda p: torch.save(optimizer_state, p))
    _save_file(tmp / "trainer_state.pt", lambda p: torch.save(state.__dict__, p))
    readable = {k: v for k, v in state.__dict__.items() if k in ("step", "tokens_seen", "schedule", "model_config")}
    _save_file(tmp / "trainer_state.json", lambda p: p.write_text(json.dumps(readable, indent=2, sort_keys=True)))
    _fsync_dir(tmp)
    if final.exists():  # re-saving a step (a resumed run): swap the old one out first
        trash = ckpt_root / f".old-{final.name}-{os.getpid()}"
        os.rename(final, trash)
        os.rename(tmp, final)
        shutil.rmtree(trash)
    else:
        os.rename(tmp, final)
    _fsync_dir(ckpt_root)
    prune_checkpoints(ckpt_root, keep_last, milestone_every)
    return final


def list_checkpoints(run_dir: str | Path) -> list[tuple[int, Path]]:
    """Complete checkpoints (``step-*`` folders only, never temp folders), oldest first."""
    return list_step_dirs(Path(run_dir) / "checkpoints")


def list_step_dirs(root: Path) -> list[tuple[int, Path]]:
    """The ``step-XXXXXXXX`` folders directly in ``root``, oldest first (also an engine's own checkpoint root)."""
    if not root.is_dir():
        return []
    found = []
    for child in root.iterdir():
        m = STEP_DIR.match(child.name)
        if m and child.is_dir():
            found.append((int(m.group(1)), child))
    return sorted(found)


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    ckpts = list_checkpoints(run_dir)
    return ckpts[-1][1] if ckpts else None


def prune_checkpoints(ckpt_root: Path, keep_last: int, milestone_every: int | None) -> None:
    """Keep the last ``keep_last`` and every milestone; sweep temp folders left by crashed saves."""
    ckpts = list_step_dirs(ckpt_root)
    keep = {step for step, _ in ckpts[-keep_last:]} if keep_last > 0 else set()
    if milestone_every:
        keep |= {step for step, _ in ckpts if step % milestone_every == 0}
    for step, path in ckpts:
        if step not in keep:
            shutil.rmtree(path)
    for child in ckpt_root.iterdir():
        if child.name.startswith((".tmp-", ".old-")) and not child.name.endswith(f"-{os.getpid()}"):
            shutil.rmtree(child, ignore_errors=True)


def load_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any] | None, TrainerState]:
    """(model state_dict, optimizer state_dict or None, trainer state) of one checkpoint folder."""
    path = Path(path)
    if not (path / MODEL_FILE).exists() or not (path / "trainer_state.pt").exists():
        raise OpcError("checkpoint folder is incomplete", where=str(path),
                       hint="delete it; the previous checkpoint is used instead")
    weights = load_weights(str(path / MODEL_FILE))
    opt = torch.load(path / "optimizer.pt", weights_only=False) if (path / "optimizer.pt").exists() else None
    state = TrainerState(**torch.load(path / "trainer_state.pt", weights_only=False))
    return weights, opt, state


def save_final(run_dir: str | Path, model_state: dict[str, torch.Tensor], config: ModelConfig) -> Path:
    """``final/model.safetensors`` (fp32, LlamaForCausalLM names) + ``final/model_config.json``."""
    final = Path(run_dir) / "final"
    final.mkdir(parents=True, exist_ok=True)
    save_weights(model_state, final / MODEL_FILE)
    storage.write_json_atomic(str(final / CONFIG_FILE), config.to_dict())
    return final


def load_final(pretrain_output_uri: str) -> tuple[Transformer, ModelConfig]:
    """The trained model of a pretrain output (local or s3://), in eval mode on CPU, fp32."""
    final = storage.join(pretrain_output_uri, "final")
    config_uri = storage.join(final, CONFIG_FILE)
    if not storage.exists(config_uri):
        raise OpcError("no final model in this pretrain output", where=final,
                       hint="point at a complete pretrain output (see `opc status`), or run `opc run pretrain`")
    config = ModelConfig.from_dict(storage.read_json(config_uri))
    model = Transformer(config)
    model.load_state_dict(load_weights(storage.join(final, MODEL_FILE)), strict=True)
    return model.eval(), config
