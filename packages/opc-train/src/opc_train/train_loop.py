"""The pretraining loop: one function for a single process, torchrun DDP and DeepSpeed ZeRO.

    resume? engine.load(run_dir) ─▶ model, optimizer, loader position, RNG, step, tokens
    for step in start..max_steps:
        lr = schedule.lr(step)
        A micro-batches (each rank its slice of the global batch, see data_loader)
        n = target tokens in all A micro-batches of all ranks
        for each micro-batch: backward(sum_loss * world / n)     ─▶ grads = d(mean token loss)
        clip grad norm, optimizer step                           (inside engine.step)
        metrics.jsonl  {step, loss, lr, grad_norm, tokens, tokens_per_s(_per_device), mfu, memory}
        every eval_every:        {step, val_loss}
        every checkpoint_every:  checkpoints/step-N (atomic; keep-last-N + milestones)
    final/model.safetensors, summary.json, loss.png

The loss is normalised by the token count of the whole global batch (all micro-batches of all
ranks), so gradient accumulation and data parallelism give the gradient of the same mean loss a
single big batch would. CPU runs in fp32 and is bitwise reproducible: a run killed with SIGKILL and
resumed from its last checkpoint logs the same losses as one that never stopped (lines the killed
run wrote after its last checkpoint are dropped from metrics.jsonl on resume). On CUDA, forward runs
under bf16 autocast (fp32 master weights). ``torch.compile`` (per block) and activation checkpointing
are opt-in; batches are gathered ahead by a background thread (``prefetch.py``, pinned on CUDA).

The pieces, one module each: settings (``train_settings.py``), the optimizer (``optimizer.py``), what
differs between backends (``engines.py``), validation and the unigram floor (``validation.py``),
metrics.jsonl and the plot (``metrics.py``). Not here: tokenization, the stage contract
(``pretrain_stage.py``), process groups (``process_group.py``) and launching (``distributed.py``).
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch

from opc_core.progress import track
from opc_train.checkpoint import MODEL_FILE, TrainerState, load_weights, rng_state, save_final, set_rng_state
from opc_train.data_loader import TokenBatchLoader
from opc_train.engines import autocast, build_engine
from opc_train.metrics import MetricsLog, memory_record, peak_flops, plot_metrics, read_metrics
from opc_train.model import ModelConfig, Transformer, estimate_mfu
from opc_train.parallelize import compiled_blocks
from opc_train.prefetch import PrefetchingLoader
from opc_train.process_group import DistContext
from opc_train.token_shards import TokenShards, check_model_vocab
from opc_train.train_settings import TrainSettings
from opc_train.validation import evaluate, unigram_val_loss

log = logging.getLogger("opc.pretrain")

__all__ = ["TrainResult", "TrainSettings", "read_metrics", "resolve_device", "seed_everything", "train"]


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


def train(
    model_config: ModelConfig,
    settings: TrainSettings,
    train_shards: TokenShards,
    val_shards: TokenShards,
    run_dir: str | Path,
    dist: DistContext | None = None,
    *,
    init_from: str | Path | None = None,
    init_optimizer: bool = False,
    data=None,
) -> TrainResult:
    """Train (or resume) in ``run_dir``; returns the summary also written to ``summary.json`` (rank 0).

    ``init_from``: a folder with ``model.safetensors`` (a checkpoint or a ``final/``) to start from instead
    of a random init (anneal, SFT); with ``init_optimizer`` also its ``optimizer.pt`` (anneal keeping the
    AdamW moments). A checkpoint in ``run_dir`` still wins (resume). ``data``: another source of batches
    than token shards (SFT: ``sft_data.SFTTrainData``), with ``loader(settings, dist)``,
    ``evaluate(engine, settings, dist, device) -> float`` and ``baseline() -> float | None``
    (``train_shards`` / ``val_shards`` are then unused).
    """
    threads_before = torch.get_num_threads()
    if settings.num_threads:
        torch.set_num_threads(settings.num_threads)
    try:
        return _train(model_config, settings, train_shards, val_shards, Path(run_dir), dist or DistContext.single(),
                      Path(init_from) if init_from is not None else None, init_optimizer, data)
    finally:
        torch.set_num_threads(threads_before)  # the thread count is process-wide: leave it as found


def _train(model_config: ModelConfig, settings: TrainSettings, train_shards: TokenShards | None,
           val_shards: TokenShards | None, run_dir: Path, dist: DistContext, init_from: Path | None,
           init_optimizer: bool, data) -> TrainResult:
    # 1. set up: device, checks, model, engine, loader (in this order: the RNG is seeded before init)
    run_dir.mkdir(parents=True, exist_ok=True)
    device = dist.device if dist.device is not None else resolve_device(settings.device)
    if model_config.max_seq_len < settings.seq_len:
        raise ValueError(f"seq_len {settings.seq_len} exceeds the model's max_seq_len {model_config.max_seq_len}")
    if data is None:
        check_model_vocab(train_shards.fingerprint, model_config.vocab_size)
    seed_everything(settings.seed)
    model = Transformer(model_config)
    if init_from is not None:  # an anneal branch or an SFT start: weights of another run
        model.load_state_dict(load_weights(str(init_from / MODEL_FILE)), strict=True)
    model = model.to(device)
    engine = build_engine(model, settings, dist)
    if data is not None:
        loader = data.loader(settings, dist)
        validate, baseline = data.evaluate, data.baseline
    else:
        loader = TokenBatchLoader(train_shards, settings.seq_len, settings.micro_batch_size, seed=settings.seed,
                                  rank=dist.rank, world_size=dist.world_size)
        validate = partial(evaluate, val_shards=val_shards)
        baseline = partial(unigram_val_loss, train_shards, val_shards, settings, dist)
    if settings.prefetch:  # batches gathered by a background thread; the checkpointed position is the consumed one
        loader = PrefetchingLoader(loader, settings.prefetch, pin_memory=device.type == "cuda")

    # 2. resume from the latest checkpoint, if any
    start, tokens_seen, resumed_from = 0, 0, None
    state = engine.load(run_dir)
    if state is None and init_from is not None and init_optimizer:
        engine.load_optimizer(init_from)
    if state is not None:
        if state.model_config != model_config.to_dict():
            raise ValueError(f"checkpoint in {run_dir} is for another model shape: {state.model_config}")
        loader.load_state_dict(state.loader)
        set_rng_state(state.rng)
        start, tokens_seen, resumed_from = state.step, state.tokens_seen, state.step
        log.info("resumed from checkpoint step %d (%d tokens seen)", start, tokens_seen)

    # 3. the steps
    is_main = dist.rank == 0
    metrics = MetricsLog(run_dir / "metrics.jsonl", is_main, resumed_from,
                         tensorboard_dir=run_dir / "tensorboard" if settings.tensorboard else None)
    peak = peak_flops(settings, device)
    throughput: list[float] = []
    first_loss = last_loss = None
    try:
        for step in track(range(start, settings.max_steps), "pretrain", total=settings.max_steps - start):
            t0 = time.perf_counter()
            lr = settings.schedule.lr(step)
            engine.set_lr(lr)
            loss, grad_norm, n_global = _train_step(engine, loader, settings, dist, device, lr)
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
                      "tokens_per_s": tps, "tokens_per_s_per_device": tps / dist.world_size, **memory_record(device)}
            if peak:
                record["mfu"] = estimate_mfu(model_config, settings.seq_len, tps, peak * dist.world_size)
            metrics.write(record)
            done = step + 1
            if is_main and (done % settings.log_every == 0 or done == 1):
                log.info("step %d/%d loss %.4f lr %.2e grad_norm %.3f %.0f tok/s", done, settings.max_steps,
                         loss, lr, grad_norm, tps)
            if settings.eval_every and done % settings.eval_every == 0 and done < settings.max_steps:
                val = validate(engine, settings=settings, dist=dist, device=device)
                metrics.write({"step": done, "val_loss": val})
                if is_main:
                    log.info("step %d val_loss %.4f", done, val)
            if settings.checkpoint_every and done % settings.checkpoint_every == 0:
                engine.save(run_dir, TrainerState(
                    step=done, tokens_seen=tokens_seen, schedule=settings.schedule.to_dict(),
                    loader=loader.state_dict(), rng=rng_state(), model_config=model_config.to_dict(),
                    extra={"settings": settings.to_dict(), "world_size": dist.world_size},
                ))
        # 4. final validation and the fp32 weights
        step = settings.max_steps
        final_val = validate(engine, settings=settings, dist=dist, device=device)
        metrics.write({"step": step, "val_loss": final_val})
        full_state = engine.full_state_dict()
    finally:
        metrics.close()
        if isinstance(loader, PrefetchingLoader):
            loader.close()

    # 5. the product: final/, summary.json, loss.png (rank 0)
    unigram = baseline() if is_main else None
    result = TrainResult(
        steps=step, tokens_seen=tokens_seen, final_val_loss=final_val, unigram_val_loss=unigram,
        first_loss=first_loss, last_loss=last_loss,
        mean_tokens_per_s=float(np.mean(throughput)) if throughput else 0.0, resumed_from=resumed_from,
    )
    if is_main:
        save_final(run_dir, full_state, model_config)
        _write_summary(run_dir, result, model_config, settings, dist, compiled_blocks(model))
        plot_metrics(run_dir / "metrics.jsonl", run_dir / "loss.png", unigram=unigram)
    dist.barrier()
    return result


def _train_step(engine, loader: TokenBatchLoader | PrefetchingLoader, settings: TrainSettings, dist: DistContext,
                device: torch.device, lr: float) -> tuple[float, float, int]:
    """One optimizer step over ``grad_accum_steps`` micro-batches: (mean token loss, grad norm, global tokens)."""
    batches = [loader.next_batch() for _ in range(settings.grad_accum_steps)]
    n_local = sum(int((y != -100).sum()) for _, y in batches)
    n_global = dist.sum_int(n_local)
    loss_acc = torch.zeros((), dtype=torch.float64, device=device)
    for i, (x, y) in enumerate(batches):
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with engine.micro_context(last=i == len(batches) - 1):
            with autocast(device):
                loss_sum = engine.forward_loss(x, y)
            engine.backward(loss_sum, n_global)
        loss_acc += loss_sum.detach().double()
    grad_norm = engine.step(lr)
    dist.all_reduce_sum(loss_acc)
    return float(loss_acc) / n_global, grad_norm, n_global


def _write_summary(run_dir: Path, result: TrainResult, model_config: ModelConfig, settings: TrainSettings,
                   dist: DistContext, compiled: int) -> None:
    tokens_per_step = settings.micro_batch_size * settings.seq_len * settings.grad_accum_steps * dist.world_size
    summary = {
        "final_val_loss": result.final_val_loss,
        "unigram_val_loss": result.unigram_val_loss,
        "beats_unigram": bool(result.unigram_val_loss is not None
                              and result.final_val_loss < result.unigram_val_loss),
        "steps": result.steps,
        "tokens_seen": result.tokens_seen,
        "tokens_per_step": tokens_per_step,
        "model_params": model_config.num_params(),
        "model_config": model_config.to_dict(),
        "settings": settings.to_dict(),
        "world_size": dist.world_size,
        "backend": settings.backend,
        "compiled_blocks": compiled,  # the recipe's compile honoured: every block (or 0 without compile)
    }
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
