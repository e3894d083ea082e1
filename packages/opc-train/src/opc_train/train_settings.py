"""How a training run trains: the ``TrainSettings`` every engine and the loop read.

    recipe stages.pretrain (PretrainConfig) ─▶ build_settings ─▶ TrainSettings ─▶ job.json / train()

A plain dataclass with a JSON round trip (``to_dict`` / ``from_dict``), because it travels to every
torchrun rank inside ``job.json`` and into each checkpoint. Not here: the model shape (``ModelConfig``
in ``model.py``), validation of recipe values (``PretrainConfig`` does that), the loop itself.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from opc_train.cosine_schedule import CosineSchedule, schedule_from_dict
from opc_train.wsd_schedule import WSDSchedule


@dataclass
class TrainSettings:
    """How to train (the model shape is a ``ModelConfig``; the data are token shards)."""

    max_steps: int
    seq_len: int
    micro_batch_size: int  # per rank, per micro-step
    schedule: WSDSchedule | CosineSchedule
    grad_accum_steps: int = 1
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.95)
    adam_eps: float = 1e-8
    grad_clip: float = 1.0
    eval_every: int = 50
    eval_batches: int = 8
    checkpoint_every: int = 50
    keep_last: int = 2
    milestone_every: int | None = None
    log_every: int = 25
    compile: bool = False
    device: str = "auto"  # auto | cpu | cuda
    seed: int = 0
    peak_flops: float | None = None
    num_threads: int | None = None  # CPU threads for torch (None: torch's default)
    backend: str = "torch"  # torch (one process or torchrun DDP) | deepspeed | fsdp (FSDP2)
    zero_stage: int = 0
    deepspeed_config: dict[str, Any] = field(default_factory=dict)  # extra keys merged into the generated config
    activation_checkpointing: str = "none"  # none | full | selective, per block (model.py)
    prefetch: int = 2  # training batches gathered ahead by a background thread (0: in the loop)
    tensorboard: bool = False  # also write the step metrics as TensorBoard events (<run>/tensorboard/)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["schedule"] = self.schedule.to_dict()
        d["betas"] = list(self.betas)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainSettings:
        d = dict(data)
        d["schedule"] = schedule_from_dict(d["schedule"])
        d["betas"] = tuple(d.get("betas", (0.9, 0.95)))
        return cls(**d)
