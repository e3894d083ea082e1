r"""Warmup-Stable-Decay (WSD), the learning-rate schedule OpenCoder pretrained with.

    lr
    peak ┤      ┌──────────────────────────┐
         │     /                            \            decay shape: linear | cosine | 1-sqrt
         │    /                              \_
     min ┤   /                                 ╲______
         └──┴──────┴────────────────────────────┴──────┴──▶ step
            0  warmup_steps              decay_start   decay_start + decay_steps

Step ``s`` is the optimizer step about to be taken (0-based):

- warmup, ``s < warmup_steps``: ``peak * (s + 1) / warmup_steps`` (reaches peak on the last warmup step);
- stable, ``warmup_steps <= s < decay_start``: ``peak``;
- decay, ``decay_start <= s < decay_start + decay_steps``: with ``p = (s - decay_start) / decay_steps``,
  linear ``peak - (peak - min) * p``, cosine ``min + (peak - min) * (1 + cos(pi p)) / 2``,
  1-sqrt ``min + (peak - min) * (1 - sqrt(p))`` (Hägele et al. 2024);
- after: ``min_lr``.

``decay_start`` defaults to ``total_steps - decay_steps``. Setting it explicitly is how annealing
branches from a stable-phase checkpoint: load the checkpoint of step N and train on with
``decay_start=N`` (the schedule is a pure function of the step, so no state beyond the dataclass and
the step is needed). Not here: the optimizer, the cosine schedule (``cosine_schedule.py``).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any, Literal

DecayShape = Literal["linear", "cosine", "1-sqrt"]


@dataclass(frozen=True)
class WSDSchedule:
    """Every field is data: the schedule is saved in checkpoints as ``to_dict()``."""

    peak_lr: float
    total_steps: int
    warmup_steps: int = 0
    decay_steps: int = 0
    decay_start: int | None = None  # default: total_steps - decay_steps
    decay_shape: DecayShape = "1-sqrt"
    min_lr: float = 0.0
    kind: Literal["wsd"] = "wsd"

    def __post_init__(self) -> None:
        if self.decay_shape not in ("linear", "cosine", "1-sqrt"):
            raise ValueError(f"decay_shape must be linear, cosine or 1-sqrt, not {self.decay_shape!r}")
        if min(self.total_steps, self.warmup_steps, self.decay_steps) < 0:
            raise ValueError("total_steps, warmup_steps and decay_steps must be >= 0")
        if self.min_lr > self.peak_lr:
            raise ValueError(f"min_lr {self.min_lr} is above peak_lr {self.peak_lr}")
        if self.start_of_decay < self.warmup_steps:
            raise ValueError(
                f"the decay starts at step {self.start_of_decay}, inside the warmup ({self.warmup_steps} steps)"
            )
        if self.start_of_decay + self.decay_steps > self.total_steps:
            warnings.warn(
                f"WSD decay ends at step {self.start_of_decay + self.decay_steps}, after total_steps "
                f"{self.total_steps}: training stops before the learning rate reaches min_lr",
                stacklevel=2,
            )

    @property
    def start_of_decay(self) -> int:
        return self.total_steps - self.decay_steps if self.decay_start is None else self.decay_start

    def lr(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.peak_lr * (step + 1) / self.warmup_steps
        start = self.start_of_decay
        if step < start:
            return self.peak_lr
        if step >= start + self.decay_steps:
            return self.min_lr
        p = (step - start) / self.decay_steps
        if self.decay_shape == "linear":
            factor = 1.0 - p
        elif self.decay_shape == "cosine":
            factor = 0.5 * (1.0 + math.cos(math.pi * p))
        else:
            factor = 1.0 - math.sqrt(p)
        # written from the peak down, so the first decay step (factor 1) is exactly the stable lr: an
        # annealing branch's first step runs at the very lr of the checkpoint it branched from
        return self.peak_lr - (self.peak_lr - self.min_lr) * (1.0 - factor)

    def phase(self, step: int) -> str:
        if step < self.warmup_steps:
            return "warmup"
        return "stable" if step < self.start_of_decay else "decay"

    def anneal_from(self, step: int, decay_steps: int) -> WSDSchedule:
        """The schedule of an annealing branch: decay from ``step`` (a stable-phase checkpoint) over ``decay_steps``.

        ``step`` counts completed steps, so the checkpoint at ``start_of_decay`` (the last one before this
        run's own decay) is still a stable-phase checkpoint: its next step would run at the peak.
        """
        if not self.warmup_steps <= step <= self.start_of_decay:
            raise ValueError(f"step {step} is in the {self.phase(step)} phase; annealing branches from the stable phase")
        return WSDSchedule(**{**asdict(self), "decay_start": step, "decay_steps": decay_steps,
                              "total_steps": step + decay_steps})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
