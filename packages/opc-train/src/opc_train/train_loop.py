"""The pretraining loop: one function for a single process, torchrun DDP and DeepSpeed ZeRO.

    resume? latest checkpoints/step-N ─▶ model, optimizer, loader position, RNG, step, tokens
    for step in start..max_steps:
        lr = schedule.lr(step)
        A micro-batches (each rank its slice of the global batch, see data_loader)
        n = target tokens in all A micro-batches of all ranks
        for each micro-batch: backward(sum_loss * world / n)     ─▶ grads = d(mean token loss)
        clip grad norm, optimizer step
        metrics.jsonl  {step, loss, lr, grad_norm, tokens, tokens_per_s, mfu}
        every eval_every:        {step, val_loss}
        every checkpoint_every:  checkpoints/step-N (atomic; keep-last-N + milestones)
    final/model.safetensors, summary.json, loss.png

The loss is normalised by the token count of the whole global batch (all micro-batches of all
ranks), so gradient accumulation and data parallelism give the gradient of the same mean loss a
single big batch would. CPU runs in fp32 and is bitwise reproducible: a run killed with SIGKILL and
resumed from its last checkpoint logs the same losses as one that never stopped (lines the killed
run wrote after its last checkpoint are dropped from metrics.jsonl on resume). On CUDA, forward runs
under bf16 autocast (fp32 master weights). ``torch.compile`` is opt-in.

What differs between backends (gradient sync, ZeRO partitioning, their checkpoint format) lives in
an *engine* (``PlainEngine`` here for one process or DDP, ``DeepSpeedEngineAdapter`` in
``distributed.py``); the loop itself is the same. Not here: tokenization, the stage contract
(``pretrain_stage.py``), process launching (``distributed.py``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from opc_train.checkpoint import (
    TrainerState,
    latest_checkpoint,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    save_final,
    set_rng_state,
)
from opc_train.cosine_schedule import CosineSchedule, schedule_from_dict
from opc_train.model import ModelConfig, Transformer, estimate_mfu
from opc_train.wsd_schedule import WSDSchedule

log = logging.getLogger("opc.pretrain")

# Dense bf16 peak FLOP/s per device, for the MFU estimate (override with TrainSettings.peak_flops).
PEAK_FLOPS = {"NVIDIA H100": 989e12, "NVIDIA H200": 989e12, "NVIDIA A100": 312e12}


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
    backend: str = "torch"  # torch (one process or torchrun DDP) | deepspeed
    zero_stage: int = 0
    deepspeed_config: dict[str, Any] = field(default_factory=dict)  # extra keys merged into the generated config

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


@dataclass
class TrainResult:
    steps: int
    tokens_seen: int
    final_val_loss: float
    unigram_val_loss: float | None
    first_loss: float | None
    last_loss: float | None
    mean_tokens_per_s: float
    resumed_from: int | None


def resolve_device(setting: str) -> torch.device:
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(setting)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (1 << 32))
    torch.manual_seed(seed)


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


class PlainEngine:
    """One process, or DDP under torchrun (gradients all-reduced on the last micro-batch)."""

    def __init__(self, model: Transformer, settings: TrainSettings, dist) -> None:
        self.model = model
        self.dist = dist
        self.settings = settings
        self.optimizer = build_optimizer(model, settings)
        self.wrapped: torch.nn.Module = model
        if dist.world_size > 1:
            from torch.nn.parallel import DistributedDataParallel

            ids = [dist.local_rank] if model.lm_head.weight.device.type == "cuda" else None
            self.wrapped = DistributedDataParallel(model, device_ids=ids)
        self.loss_module = self.wrapped
        if settings.compile:
            self.loss_module = torch.compile(self.wrapped)

    def micro_context(self, last: bool):
        if self.dist.world_size > 1 and not last:
            return self.wrapped.no_sync()
        return contextlib.nullcontext()

    def forward_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.loss_module(x, targets=y)  # summed token loss (fused lm_head + cross-entropy on CPU)

    def backward(self, loss_sum: torch.Tensor, n_tokens_global: int) -> None:
        (loss_sum * (self.dist.world_size / n_tokens_global)).backward()

    def set_lr(self, lr: float) -> None:
        for g in self.optimizer.param_groups:
            g["lr"] = lr

    def step(self, lr: float) -> float:
        norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.settings.grad_clip)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return float(norm)

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


class MetricsLog:
    """``metrics.jsonl`` (rank 0 only), one JSON object per line, flushed per line."""

    def __init__(self, path: Path, enabled: bool, resume_step: int | None) -> None:
        self.path = path
        self.enabled = enabled
        if enabled:
            lines = path.read_text().splitlines() if (resume_step is not None and path.exists()) else []
            kept = [ln for ln in lines if ln.strip() and json.loads(ln)["step"] <= (resume_step or 0)]
            path.write_text("".join(ln + "\n" for ln in kept))
            self.file = open(path, "a")  # noqa: SIM115 - closed in close()

    def write(self, record: dict[str, Any]) -> None:
        if self.enabled:
            self.file.write(json.dumps(record, sort_keys=True) + "\n")
            self.file.flush()

    def close(self) -> None:
        if self.enabled:
            self.file.close()


def _autocast(device: torch.device):
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def evaluate(engine, val_shards, settings: TrainSettings, dist, device: torch.device) -> float:
    """Mean token loss over the first ``eval_batches`` global validation batches (same on every call)."""
    from opc_train.data_loader import eval_batches

    module = engine.eval_module()
    was_training = module.training
    module.eval()
    total = torch.zeros(2, dtype=torch.float64, device=device)
    for x, y in eval_batches(val_shards, settings.seq_len, settings.micro_batch_size, settings.eval_batches,
                             dist.rank, dist.world_size):
        x, y = x.to(device), y.to(device)
        with _autocast(device):
            logits = module(x)
        loss = torch.nn.functional.cross_entropy(logits.float().view(-1, logits.shape[-1]), y.reshape(-1),
                                                 reduction="sum")
        total += torch.stack([loss.double(), torch.tensor(float(y.numel()), dtype=torch.float64, device=device)])
    dist.all_reduce_sum(total)
    module.train(was_training)
    return float(total[0] / total[1])


def unigram_val_loss(train_shards, val_shards, settings: TrainSettings, dist) -> float:
    """The unigram baseline on exactly the validation targets ``evaluate`` scores."""
    from opc_train.data_loader import eval_batches
    from opc_train.unigram_baseline import fit_unigram, unigram_loss

    log_probs = fit_unigram(train_shards.token_counts())
    targets = (y.numpy() for _, y in eval_batches(val_shards, settings.seq_len,
                                                   settings.micro_batch_size * dist.world_size,
                                                   settings.eval_batches))
    return unigram_loss(log_probs, targets)


def _peak_flops(settings: TrainSettings, device: torch.device) -> float | None:
    if settings.peak_flops:
        return settings.peak_flops
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        return next((v for k, v in PEAK_FLOPS.items() if name.startswith(k)), None)
    return None


def train(
    model_config: ModelConfig,
    settings: TrainSettings,
    train_shards,
    val_shards,
    run_dir: str | Path,
    dist=None,
) -> TrainResult:
    """Train (or resume) in ``run_dir``; returns the summary also written to ``summary.json`` (rank 0)."""
    threads_before = torch.get_num_threads()
    if settings.num_threads:
        torch.set_num_threads(settings.num_threads)
    try:
        return _train(model_config, settings, train_shards, val_shards, run_dir, dist)
    finally:
        torch.set_num_threads(threads_before)  # the thread count is process-wide: leave it as found


def _train(model_config, settings, train_shards, val_shards, run_dir, dist) -> TrainResult:
    from opc_train.data_loader import TokenBatchLoader
    from opc_train.distributed import DistContext

    dist = dist or DistContext.single()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    device = dist.device if dist.device is not None else resolve_device(settings.device)
    if model_config.max_seq_len < settings.seq_len:
        raise ValueError(f"seq_len {settings.seq_len} exceeds the model's max_seq_len {model_config.max_seq_len}")
    from opc_train.token_shards import check_model_vocab

    check_model_vocab(train_shards.fingerprint, model_config.vocab_size)

    seed_everything(settings.seed)
    model = Transformer(model_config).to(device)
    if settings.backend == "deepspeed":
        from opc_train.distributed import DeepSpeedEngineAdapter

        engine = DeepSpeedEngineAdapter(model, settings, dist)
    else:
        engine = PlainEngine(model, settings, dist)
    loader = TokenBatchLoader(train_shards, settings.seq_len, settings.micro_batch_size, seed=settings.seed,
                              rank=dist.rank, world_size=dist.world_size)

    start, tokens_seen, resumed_from = 0, 0, None
    state = engine.load(run_dir)
    if state is not None:
        if state.model_config != model_config.to_dict():
            raise ValueError(f"checkpoint in {run_dir} is for another model shape: {state.model_config}")
        loader.load_state_dict(state.loader)
        set_rng_state(state.rng)
        start, tokens_seen, resumed_from = state.step, state.tokens_seen, state.step
        log.info("resumed from checkpoint step %d (%d tokens seen)", start, tokens_seen)

    is_main = dist.rank == 0
    metrics = MetricsLog(run_dir / "metrics.jsonl", is_main, resumed_from)
    peak = _peak_flops(settings, device)
    throughput: list[float] = []
    first_loss = last_loss = None
    tokens_per_step = settings.micro_batch_size * settings.seq_len * settings.grad_accum_steps * dist.world_size

    from opc_core.progress import track

    try:
        for step in track(range(start, settings.max_steps), "pretrain", total=settings.max_steps - start):
            t0 = time.perf_counter()
            lr = settings.schedule.lr(step)
            engine.set_lr(lr)
            batches = [loader.next_batch() for _ in range(settings.grad_accum_steps)]
            n_local = sum(int((y != -100).sum()) for _, y in batches)
            n_global = dist.sum_int(n_local)
            loss_acc = torch.zeros((), dtype=torch.float64, device=device)
            for i, (x, y) in enumerate(batches):
                x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
                with engine.micro_context(last=i == len(batches) - 1):
                    with _autocast(device):
                        loss_sum = engine.forward_loss(x, y)
                    engine.backward(loss_sum, n_global)
                loss_acc += loss_sum.detach().double()
            grad_norm = engine.step(lr)
            dist.all_reduce_sum(loss_acc)
            loss = float(loss_acc) / n_global
            if not math.isfinite(loss):
                raise FloatingPointError(f"loss is {loss} at step {step + 1}; lower the learning rate or check the data")
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            dt = time.perf_counter() - t0
            tokens_seen += n_global
            tps = n_global / dt
            throughput.append(tps)
            first_loss = loss if first_loss is None else first_loss
            last_loss = loss
            record = {"step": step + 1, "loss": loss, "lr": lr, "grad_norm": grad_norm, "tokens": tokens_seen,
                      "tokens_per_s": tps}
            if peak:
                record["mfu"] = estimate_mfu(model_config, settings.seq_len, tps, peak * dist.world_size)
            metrics.write(record)
            done = step + 1
            if is_main and (done % settings.log_every == 0 or done == 1):
                log.info("step %d/%d loss %.4f lr %.2e grad_norm %.3f %.0f tok/s", done, settings.max_steps,
                         loss, lr, grad_norm, tps)
            if settings.eval_every and done % settings.eval_every == 0 and done < settings.max_steps:
                val = evaluate(engine, val_shards, settings, dist, device)
                metrics.write({"step": done, "val_loss": val})
                if is_main:
                    log.info("step %d val_loss %.4f", done, val)
            if settings.checkpoint_every and done % settings.checkpoint_every == 0:
                engine.save(run_dir, TrainerState(
                    step=done, tokens_seen=tokens_seen, schedule=settings.schedule.to_dict(),
                    loader=loader.state_dict(), rng=rng_state(), model_config=model_config.to_dict(),
                    extra={"settings": settings.to_dict(), "world_size": dist.world_size},
                ))
        step = settings.max_steps
        final_val = evaluate(engine, val_shards, settings, dist, device)
        metrics.write({"step": step, "val_loss": final_val})
        full_state = engine.full_state_dict()
    finally:
        metrics.close()

    unigram = unigram_val_loss(train_shards, val_shards, settings, dist) if is_main else None
    result = TrainResult(
        steps=step, tokens_seen=tokens_seen, final_val_loss=final_val, unigram_val_loss=unigram,
        first_loss=first_loss, last_loss=last_loss,
        mean_tokens_per_s=float(np.mean(throughput)) if throughput else 0.0, resumed_from=resumed_from,
    )
    if is_main:
        save_final(run_dir, full_state, model_config)
        summary = {
            "final_val_loss": final_val,
            "unigram_val_loss": unigram,
            "beats_unigram": bool(unigram is not None and final_val < unigram),
            "steps": step,
            "tokens_seen": tokens_seen,
            "tokens_per_step": tokens_per_step,
            "model_params": model_config.num_params(),
            "model_config": model_config.to_dict(),
            "settings": settings.to_dict(),
            "world_size": dist.world_size,
            "backend": settings.backend,
        }
        (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
        plot_metrics(run_dir / "metrics.jsonl", run_dir / "loss.png")
    dist.barrier()
    return result


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def plot_metrics(metrics_path: Path, out_png: Path) -> None:
    """Training loss (and validation loss) against step, learning rate on a second axis."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_metrics(metrics_path)
    train = [r for r in rows if "loss" in r]
    val = [r for r in rows if "val_loss" in r]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    ax.plot([r["step"] for r in train], [r["loss"] for r in train], label="train loss", lw=1)
    if val:
        ax.plot([r["step"] for r in val], [r["val_loss"] for r in val], "o-", label="val loss", ms=3)
    ax.set_xlabel("step")
    ax.set_ylabel("loss (nats/token)")
    ax2 = ax.twinx()
    ax2.plot([r["step"] for r in train], [r["lr"] for r in train], color="grey", alpha=0.5, lw=1, label="lr")
    ax2.set_ylabel("learning rate")
    ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(out_png, metadata={"Software": None})
    plt.close(fig)
