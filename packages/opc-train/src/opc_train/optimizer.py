"""The optimizer every engine trains with: AdamW with decoupled weight decay on matrices only.

    model.parameters() ─┬─ dim >= 2 (linear, embedding weights) ─▶ weight_decay
                        └─ dim <  2 (RMSNorm gains)              ─▶ no decay

On CUDA the fused AdamW kernel; on CPU the single-tensor path (``foreach=False``), whose arithmetic
is the same in every process layout, so one process and DDP ranks step identically. The learning
rate starts at ``schedule.lr(0)`` and the loop sets it every step. Not here: the schedule
(``wsd_schedule.py``, ``cosine_schedule.py``), gradient clipping (the engines).
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
