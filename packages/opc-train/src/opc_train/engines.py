"""Engines: what differs between training backends, behind one small interface the loop calls.

    loop step:  engine.set_lr(lr)
                for each micro-batch:  with engine.micro_context(last):  loss = engine.forward_loss(x, y)
                                                                         engine.backward(loss, n_tokens_global)
                grad_norm = engine.step(lr)
    checkpoints: engine.save(run_dir, state) / engine.load(run_dir) -> TrainerState | None
    the product: engine.full_state_dict() (fp32, plain names) ; evaluation: engine.eval_module()

    PlainEngine              one process, or DDP under torchrun (gradients all-reduced on the last micro-batch)
    DeepSpeedEngineAdapter   DeepSpeed ZeRO 0-3 (its own checkpoint format; ``convert_deepspeed_checkpoint``)
    FSDPEngine               FSDP2, per-block sharding (``fsdp_engine.py``; DCP checkpoints, ``convert_fsdp_checkpoint``)

Every engine honours the recipe's ``compile`` (each block's forward is compiled, ``parallelize.py``)
and ``activation_checkpointing``, or refuses the combination with an error before any work: DeepSpeed
ZeRO-3 gathers partitioned weights in hooks on every submodule call, which a compiled block would
bypass, so ``compile: true`` with ZeRO-3 is an error (use ``backend: fsdp``).

Every engine builds the same AdamW (``optimizer.py``) over the same ``Transformer`` and normalises the
gradient by the global token count, so they train the same function; the engine-parity tests check
it. DeepSpeed gets a config generated from the recipe (``deepspeed_config``: micro batch,
accumulation, clipping, ZeRO stage, bf16 on GPU) and a plain ``torch.optim.AdamW``, so no fused-Adam
extension is compiled. DeepSpeed checkpoints are DeepSpeed's own (``checkpoints/deepspeed/<tag>/``,
``latest`` written after the tag is complete); ``convert_deepspeed_checkpoint`` turns one into our
plain format (fp32 weights + trainer state; the optimizer moments are not converted, so a
plain-torch continuation starts fresh Adam moments). Not here: process groups (``process_group.py``),
launching (``distributed.py``), the loop (``train_loop.py``).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import torch

from opc_core.errors import OpcError
from opc_train.checkpoint import TrainerState, latest_checkpoint, load_checkpoint, save_checkpoint
from opc_train.model import Transformer
from opc_train.optimizer import build_optimizer, clipped_step, set_lr
from opc_train.parallelize import apply_activation_checkpointing, apply_compile
from opc_train.process_group import DistContext
from opc_train.train_settings import TrainSettings


def autocast(device: torch.device):
    """bf16 autocast on CUDA (fp32 master weights); nothing on CPU, which trains in fp32."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


BACKENDS = ("torch", "deepspeed", "fsdp")


def check_engine_settings(settings: TrainSettings) -> None:
    """Refuse what an engine cannot honour, with the recipe field to change (never ignore a field)."""
    where = "stages.pretrain"
    if settings.backend not in BACKENDS:
        raise OpcError(f"unknown training backend {settings.backend!r}; known: {', '.join(BACKENDS)}",
                       where=f"{where}.backend")
    if settings.backend == "deepspeed" and settings.zero_stage == 3 and settings.compile:
        raise OpcError("compile: true cannot be honoured with DeepSpeed ZeRO-3 (its partitioned weights are gathered "
                       "by hooks on each submodule call, which a compiled block bypasses)", where=f"{where}.compile",
                       hint="use backend: fsdp (FSDP2 compiles each block), or zero_stage 0-2, or compile: false")
    if settings.backend != "deepspeed" and (settings.zero_stage or settings.deepspeed_config):
        raise OpcError(f"zero_stage / deepspeed settings are DeepSpeed's, but backend is {settings.backend!r}",
                       where=f"{where}.zero_stage", hint="remove them, or set backend: deepspeed")


def build_engine(model: Transformer, settings: TrainSettings, dist: DistContext):
    """The engine the recipe's ``backend`` names."""
    check_engine_settings(settings)
    if settings.backend == "deepspeed":
        return DeepSpeedEngineAdapter(model, settings, dist)
    if settings.backend == "fsdp":
        from opc_train.fsdp_engine import FSDPEngine

        return FSDPEngine(model, settings, dist)
    return PlainEngine(model, settings, dist)


class PlainEngine:
    """One process, or DDP under torchrun (gradients all-reduced on the last micro-batch)."""

    def __init__(self, model: Transformer, settings: TrainSettings, dist: DistContext) -> None:
        self.model = model
        self.dist = dist
        self.settings = settings
        self.optimizer = build_optimizer(model, settings)
        apply_activation_checkpointing(model, settings.activation_checkpointing)
        if settings.compile:
            apply_compile(model)
        self.wrapped: torch.nn.Module = model
        if dist.world_size > 1:
            from torch.nn.parallel import DistributedDataParallel

            ids = [dist.local_rank] if model.lm_head.weight.device.type == "cuda" else None
            self.wrapped = DistributedDataParallel(model, device_ids=ids)
        self.loss_module = self.wrapped

    def micro_context(self, last: bool):
        if self.dist.world_size > 1 and not last:
            return self.wrapped.no_sync()
        return contextlib.nullcontext()

    def forward_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.loss_module(x, targets=y)  # summed token loss (fused lm_head + cross-entropy on CPU)

    def backward(self, loss_sum: torch.Tensor, n_tokens_global: int) -> None:
        (loss_sum * (self.dist.world_size / n_tokens_global)).backward()

    def set_lr(self, lr: float) -> None:
        set_lr(self.optimizer, lr)

    def step(self, lr: float) -> float:
        return clipped_step(self.model, self.optimizer, self.settings.grad_clip)

    def eval_module(self) -> torch.nn.Module:
        return self.model

    def full_state_dict(self) -> dict[str, torch.Tensor]:
        return self.model.state_dict()

    def save(self, run_dir: Path, state: TrainerState) -> None:
        if self.dist.rank == 0:
            save_checkpoint(run_dir, self.model.state_dict(), self.optimizer.state_dict(), state,
                            self.settings.keep_last, self.settings.milestone_every)
        self.dist.barrier()

    def load(self, run_dir: Path) -> TrainerState | None:
        path = latest_checkpoint(run_dir)
        if path is None:
            return None
        weights, opt_state, state = load_checkpoint(path)
        self.model.load_state_dict(weights, strict=True)
        if opt_state is not None:
            self.optimizer.load_state_dict(opt_state)
        return state

    def load_optimizer(self, checkpoint_dir: Path) -> None:
        """The AdamW state of another run's checkpoint (an anneal branch keeping the moments)."""
        path = checkpoint_dir / "optimizer.pt"
        if not path.exists():
            raise OpcError("this checkpoint has no optimizer.pt to keep", where=str(checkpoint_dir),
                           hint="set optimizer: reset in the anneal section")
        self.optimizer.load_state_dict(torch.load(path, weights_only=False))


# --- DeepSpeed -------------------------------------------------------------------------------------------


def deepspeed_config(settings: TrainSettings, world_size: int, cuda: bool) -> dict[str, Any]:
    """The DeepSpeed JSON config, generated from the recipe's training settings."""
    if settings.zero_stage not in (0, 1, 2, 3):
        raise OpcError(f"zero_stage must be 0, 1, 2 or 3 (got {settings.zero_stage})", where="stages.pretrain.zero_stage")
    config: dict[str, Any] = {
        "train_micro_batch_size_per_gpu": settings.micro_batch_size,
        "gradient_accumulation_steps": settings.grad_accum_steps,
        "train_batch_size": settings.micro_batch_size * settings.grad_accum_steps * world_size,
        "gradient_clipping": settings.grad_clip,
        "zero_optimization": {"stage": settings.zero_stage},
        "zero_allow_untested_optimizer": True,  # a plain torch AdamW: no fused_adam JIT build
        "bf16": {"enabled": bool(cuda)},
        "steps_per_print": 1 << 30,
        "wall_clock_breakdown": False,
    }
    for key, value in settings.deepspeed_config.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    return config


class DeepSpeedEngineAdapter:
    """The train loop's engine interface over a DeepSpeed engine (ZeRO 0-3)."""

    def __init__(self, model: Transformer, settings: TrainSettings, dist: DistContext) -> None:
        import deepspeed

        self.model = model
        self.settings = settings
        self.dist = dist
        cuda = next(model.parameters()).device.type == "cuda"
        self.ds_config = deepspeed_config(settings, dist.world_size, cuda)
        # ZeRO-3 gathers a partitioned weight only when its submodule is called: the fused kernels (and the
        # chunked loss) read weights directly, so ZeRO-3 runs the plain path, with full logits (use fsdp).
        model.set_fused_kernels(settings.zero_stage < 3)
        apply_activation_checkpointing(model, settings.activation_checkpointing)
        if settings.compile:  # ZeRO 0-2 only (check_engine_settings refuses ZeRO-3)
            apply_compile(model)
        optimizer = build_optimizer(model, settings)
        self.engine, self.optimizer, _, _ = deepspeed.initialize(
            model=model, optimizer=optimizer, config=self.ds_config, dist_init_required=False
        )
        self._grad_norm = 0.0

    def micro_context(self, last: bool):
        return contextlib.nullcontext()

    def forward_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.model.fused_kernels:  # ZeRO 0-2: the chunked loss, no full logits
            return self.engine(x, targets=y)
        logits = self.engine(x)
        return torch.nn.functional.cross_entropy(
            logits.float().view(-1, logits.shape[-1]), y.reshape(-1), ignore_index=-100, reduction="sum"
        )

    def backward(self, loss_sum: torch.Tensor, n_tokens_global: int) -> None:
        # DeepSpeed divides by the accumulation steps and averages over ranks: undo both, then
        # normalise by the global token count.
        scale = self.dist.world_size * self.settings.grad_accum_steps / n_tokens_global
        self.engine.backward(loss_sum * scale)
        at_boundary = self.engine.is_gradient_accumulation_boundary()
        self.engine.step()
        if at_boundary:
            norm = self.engine.get_global_grad_norm()
            self._grad_norm = float(norm) if norm is not None else float("nan")

    def set_lr(self, lr: float) -> None:
        set_lr(self.engine.optimizer, lr)

    def step(self, lr: float) -> float:
        return self._grad_norm

    def eval_module(self):
        return self.engine

    def full_state_dict(self) -> dict[str, torch.Tensor]:
        if self.settings.zero_stage == 3:
            import deepspeed

            with deepspeed.zero.GatheredParameters(list(self.model.parameters()), modifier_rank=None):
                return {k: v.detach().clone().float().cpu() for k, v in self.model.state_dict().items()}
        return {k: v.detach().float().cpu() for k, v in self.model.state_dict().items()}

    def save(self, run_dir: Path, state: TrainerState) -> None:
        ds_dir = Path(run_dir) / "checkpoints" / "deepspeed"
        self.engine.save_checkpoint(str(ds_dir), tag=f"step-{state.step:08d}",
                                    client_state={"trainer_state": state.__dict__})
        self.dist.barrier()

    def load(self, run_dir: Path) -> TrainerState | None:
        ds_dir = Path(run_dir) / "checkpoints" / "deepspeed"
        if not (ds_dir / "latest").exists():
            return None
        path, client = self.engine.load_checkpoint(str(ds_dir))
        if path is None:
            raise OpcError("DeepSpeed could not load its latest checkpoint", where=str(ds_dir),
                           hint="delete the incomplete tag named in `latest`, or the whole folder to start anew")
        return TrainerState(**client["trainer_state"])


def convert_deepspeed_checkpoint(ds_dir: str | Path, out_run_dir: str | Path, tag: str | None = None) -> Path:
    """A DeepSpeed (any ZeRO stage) checkpoint -> our ``checkpoints/step-N`` (fp32 weights + trainer
    state, no optimizer moments) under ``out_run_dir``; load_checkpoint/load_final-compatible."""
    from deepspeed.utils.zero_to_fp32 import get_fp32_state_dict_from_zero_checkpoint

    ds_dir = Path(ds_dir)
    tag = tag or (ds_dir / "latest").read_text().strip()
    weights = get_fp32_state_dict_from_zero_checkpoint(str(ds_dir), tag=tag)
    model_states = sorted((ds_dir / tag).glob("*model_states.pt"))
    if not model_states:
        raise OpcError("no model_states file in the DeepSpeed checkpoint", where=str(ds_dir / tag))
    client = torch.load(model_states[0], weights_only=False, map_location="cpu")
    state = TrainerState(**client["trainer_state"])
    weights = {k: v.float().contiguous() for k, v in weights.items()}
    return save_checkpoint(out_run_dir, weights, None, state, keep_last=1 << 30)
