"""The optimizer every engine trains with: AdamW with decoupled weight decay on matrices only.

    model.parameters() ─┬─ dim >= 2 (linear, embedding weights) ─▶ weight_decay
                        └─ dim <  2 (RMSNorm gains)              ─▶ no decay

On CUDA the fused AdamW kernel; on CPU the single-tensor path (``foreach=False``), whose arithmetic
is the same in every process layout, so one process and DDP ranks step identically. The learning
rate starts at ``schedule.lr(0)`` and the loop sets it every step (``set_lr``); ``clipped_step`` is the
step of the plain and FSDP engines (DeepSpeed clips and steps inside its own engine). Not here: the schedule
(``wsd_schedule.py``, ``cosine_schedule.py``), the loss scaling (the engines).
"""

from __future__ import annotations

from typing import Any

import torch

from opc_train.train_settings import TrainSettings


def build_optimizer(model: torch.nn.Module, s: TrainSettings) -> torch.optim.Optimizer:
    """AdamW; weight decay on matrices (linear and embedding weights) only, never on norm gains."""
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    groups = [{"params": decay, "weight_decay": s.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    kwargs: dict[str, Any] = {"lr": s.schedule.lr(0), "betas": s.betas, "eps": s.adam_eps}
    if next(model.parameters()).device.type == "cuda":
        kwargs["fused"] = True
    else:
        kwargs["foreach"] = False  # the single-tensor path: same arithmetic in every process layout
    return torch.optim.AdamW(groups, **kwargs)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Every parameter group at ``lr`` (the loop sets the schedule's value before each step)."""
    for group in optimizer.param_groups:
        group["lr"] = lr


def clipped_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, grad_clip: float) -> float:
    """Clip the global gradient norm, step, clear the gradients; returns the norm before clipping (gathered to
    its full value when the parameters are sharded DTensors)."""
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    if hasattr(norm, "full_tensor"):  # a DTensor (FSDP2): the norm over all shards
        norm = norm.full_tensor()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return float(norm)
