"""Linear warmup then cosine decay to ``min_lr``: the classic pretraining schedule, and SFT's.

    warmup, s < warmup_steps:  peak * (s + 1) / warmup_steps
    then, p = (s - warmup_steps) / (total_steps - warmup_steps):  min + (peak - min) * (1 + cos(pi p)) / 2
    s >= total_steps:          min_lr

Not here: WSD (``wsd_schedule.py``); ``schedule_from_dict`` rebuilds either from a checkpoint.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class CosineSchedule:
    peak_lr: float
    total_steps: int
    warmup_steps: int = 0
    min_lr: float = 0.0
    kind: Literal["cosine"] = "cosine"

    def __post_init__(self) -> None:
        if self.warmup_steps > self.total_steps:
            raise ValueError(f"warmup_steps {self.warmup_steps} exceeds total_steps {self.total_steps}")
        if self.min_lr > self.peak_lr:
            raise ValueError(f"min_lr {self.min_lr} is above peak_lr {self.peak_lr}")

    def lr(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.peak_lr * (step + 1) / self.warmup_steps
        if step >= self.total_steps:
            return self.min_lr
        p = (step - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps)
        return self.min_lr + (self.peak_lr - self.min_lr) * 0.5 * (1.0 + math.cos(math.pi * p))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def schedule_from_dict(data: dict[str, Any]):
    """Rebuild a schedule saved with ``to_dict()`` (the ``kind`` field says which)."""
    from opc_train.wsd_schedule import WSDSchedule

    kinds = {"wsd": WSDSchedule, "cosine": CosineSchedule}
    if data.get("kind") not in kinds:
        raise ValueError(f"unknown schedule kind {data.get('kind')!r}; known: {sorted(kinds)}")
    return kinds[data["kind"]](**data)
