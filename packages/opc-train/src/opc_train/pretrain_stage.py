"""The ``pretrain`` stage: token shards in, a trained LLaMA-style model out.

    tokenize output ─┬─ train/ (token shards) ──▶ train loop (one process | torchrun DDP | DeepSpeed ZeRO | FSDP2)
                     └─ val/                  ──▶ periodic + final validation loss, unigram baseline
    pretrain output:  metrics.jsonl  summary.json  loss.png  checkpoints/step-XXXXXXXX/  final/

Recipe section ``stages.pretrain`` (``PretrainConfig``): the model shape by name (``tiny``,
``opencoder-1.5b``, ``opencoder-8b``) plus overrides, batch geometry, the WSD or cosine schedule,
checkpoint cadence and the launcher. ``vocab_size`` defaults to the tokenizer's (rounded up to
``pad_vocab_multiple``). A crashed run re-run with the same recipe has the same content key, so it
lands in the same output folder and resumes from its last checkpoint there, exactly.

Continued pretraining (a retrain extending a previous pretrain output, ``ctx.previous``): the model starts
from the previous output's ``final/`` weights (a fresh optimizer and a fresh schedule, with its warmup) and
trains on the tokens it is given, which in a retrain are the new shards only (the tokenize stage appended
them with the same tokenizer); ``metrics.incremental`` names the weights it started from.

Determinism: on CPU the whole output except the timing files (``STAGE.volatile``) is bitwise
identical on a redo. Outputs on s3:// are trained in local scratch and uploaded when complete (no
mid-run resume there). Not here: the loop (``train_loop.py``), backends (``engines.py``), launching
(``distributed.py``).
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from opc_core.stage import StageContext, StageResult, StageSpec


class PretrainConfig(BaseModel):
    """Every field of ``stages.pretrain``; see the module docstring for the flow."""

    model_config = ConfigDict(extra="forbid")

    model: Literal["tiny", "opencoder-1.5b", "opencoder-8b"] = Field("tiny", description="opc_train.model_configs")
    model_overrides: dict[str, float | int] = Field(default_factory=dict, description="ModelConfig fields to change")
    vocab_size: int | None = Field(None, description="default: the tokenizer's, rounded up to pad_vocab_multiple")
    pad_vocab_multiple: int = Field(64, ge=1)
    seq_len: int = Field(256, ge=8)
    micro_batch_size: int = Field(8, ge=1, description="per process, per micro-step")
    grad_accum_steps: int = Field(1, ge=1)
    max_steps: int = Field(300, ge=1)
    lr: float = Field(3e-3, gt=0)
    min_lr_ratio: float = Field(0.1, ge=0, le=1)
    schedule: Literal["wsd", "cosine"] = "wsd"
    warmup_steps: int = Field(30, ge=0)
    decay_fraction: float = Field(0.2, ge=0, le=1, description="WSD: share of max_steps spent decaying")
    decay_start: int | None = Field(None, description="WSD: start the decay at this step (annealing branch)")
    decay_shape: Literal["linear", "cosine", "1-sqrt"] = "1-sqrt"
    weight_decay: float = Field(0.1, ge=0)
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = Field(1.0, gt=0)
    eval_every: int = Field(100, ge=0)
    eval_batches: int = Field(8, ge=1)
    checkpoint_every: int = Field(100, ge=0)
    keep_last: int = Field(2, ge=1)
    milestone_every: int | None = Field(None, ge=1, description="also keep every checkpoint at a multiple of this")
    log_every: int = Field(25, ge=1)
    compile: bool = False
    device: Literal["auto", "cpu", "cuda"] = "auto"
    backend: Literal["torch", "deepspeed", "fsdp"] = Field(
        "torch", description="torch: one process or torchrun DDP; deepspeed: ZeRO (zero_stage); fsdp: FSDP2 per block")
    zero_stage: int = Field(0, ge=0, le=3)
    deepspeed: dict[str, Any] = Field(default_factory=dict, description="extra DeepSpeed config keys")
    activation_checkpointing: Literal["none", "full", "selective"] = Field(
        "none", description="per block: keep all activations, only block inputs, or matmul/attention outputs")
    prefetch: int = Field(2, ge=0, description="training batches a background thread prepares ahead (0: none)")
    tensorboard: bool = Field(False, description="also write step metrics as TensorBoard events in tensorboard/")
    nproc: int = Field(1, ge=1, description="processes on this node; > 1 (or deepspeed) launches torchrun")
    threads: int | None = Field(None, ge=1, description="CPU threads per process (None: torch's default); a fixed "
                                "count also keeps CPU results bitwise equal across machines")
    seed: int | None = Field(None, description="default: the recipe seed")
    peak_flops: float | None = Field(None, description="per-device peak FLOP/s for MFU (known GPUs: automatic)")

    @model_validator(mode="after")
    def _consistent(self) -> PretrainConfig:
        if self.warmup_steps > self.max_steps:
            raise ValueError(f"warmup_steps {self.warmup_steps} exceeds max_steps {self.max_steps}")
        if self.backend != "deepspeed" and (self.zero_stage or self.deepspeed):
            raise ValueError(f"zero_stage / deepspeed are DeepSpeed settings but backend is {self.backend!r}")
        if self.backend == "deepspeed" and self.zero_stage == 3 and self.compile:
            raise ValueError("compile: true cannot be honoured with DeepSpeed ZeRO-3 (weights gathered by per-submodule "
                             "hooks); use backend: fsdp, zero_stage 0-2, or compile: false")
        return self


def build_model_config(config: PretrainConfig, tokenizer_vocab: int):
    from opc_train.model_configs import get_model_config

    vocab = config.vocab_size or math.ceil(tokenizer_vocab / config.pad_vocab_multiple) * config.pad_vocab_multiple
    overrides: dict[str, Any] = {"vocab_size": vocab, **config.model_overrides}
    base = get_model_config(config.model)
    overrides.setdefault("max_seq_len", max(base.max_seq_len, config.seq_len))
    return get_model_config(config.model, **overrides)


def build_settings(config: PretrainConfig, seed: int):
    from opc_train.cosine_schedule import CosineSchedule
    from opc_train.train_settings import TrainSettings
    from opc_train.wsd_schedule import WSDSchedule

    min_lr = config.lr * config.min_lr_ratio
    if config.schedule == "wsd":
        decay_steps = round(config.max_steps * config.decay_fraction)
        if config.decay_start is not None:
            decay_steps = min(decay_steps, config.max_steps - config.decay_start)
        schedule = WSDSchedule(peak_lr=config.lr, total_steps=config.max_steps, warmup_steps=config.warmup_steps,
                               decay_steps=decay_steps, decay_start=config.decay_start,
                               decay_shape=config.decay_shape, min_lr=min_lr)
    else:
        schedule = CosineSchedule(peak_lr=config.lr, total_steps=config.max_steps, warmup_steps=config.warmup_steps,
                                  min_lr=min_lr)
    return TrainSettings(
        max_steps=config.max_steps, seq_len=config.seq_len, micro_batch_size=config.micro_batch_size,
        schedule=schedule, grad_accum_steps=config.grad_accum_steps, weight_decay=config.weight_decay,
        betas=(config.beta1, config.beta2), grad_clip=config.grad_clip, eval_every=config.eval_every,
        eval_batches=config.eval_batches, checkpoint_every=config.checkpoint_every, keep_last=config.keep_last,
        milestone_every=config.milestone_every, log_every=config.log_every, compile=config.compile,
        device=config.device, seed=seed, peak_flops=config.peak_flops, num_threads=config.threads,
        backend=config.backend,
        zero_stage=config.zero_stage, deepspeed_config=config.deepspeed,
        activation_checkpointing=config.activation_checkpointing, prefetch=config.prefetch,
        tensorboard=config.tensorboard,
    )


def run(config: PretrainConfig, ctx: StageContext) -> StageResult:
    import json
    from pathlib import Path

    from opc_core import storage
    from opc_train.distributed import launch, write_job
    from opc_train.metrics import plot_metrics, read_metrics
    from opc_train.token_shards import open_token_data
    from opc_train.train_loop import train

    tokens_uri = ctx.input_uri("tokens")
    train_uri, val_uri = storage.join(tokens_uri, "train"), storage.join(tokens_uri, "val")
    # checks that tokenizer files, tokens_meta.json and both splits carry one fingerprint
    data = open_token_data(tokens_uri, cache_dir=ctx.scratch / "token-cache")
    train_shards, val_shards = data.train, data.val
    model_config = build_model_config(config, train_shards.fingerprint.vocab_size)
    settings = build_settings(config, ctx.seed if config.seed is None else config.seed)
    remote = storage.is_remote(ctx.output_uri)
    run_dir = Path(ctx.scratch / "run") if remote else Path(ctx.output_uri)
    init_from = None
    if ctx.previous is not None:  # continued pretraining: the previous version's final weights
        init_from = ctx.previous.artifact("final")
        _same_model(storage.read_json(storage.join(init_from, "model_config.json")), model_config.to_dict(),
                    ctx.previous.key)
        if storage.is_remote(init_from):
            init_from = str(storage.download_dir(init_from, ctx.scratch / "init"))
        ctx.log.info("pretrain: continuing from the final weights of %s on the new tokens", ctx.previous.key)
    ctx.log.info("pretrain: %s (%.2fM params), %d steps x %d tokens, %s on %d process(es)", config.model,
                 model_config.num_params() / 1e6, config.max_steps,
                 config.micro_batch_size * config.seq_len * config.grad_accum_steps * config.nproc,
                 config.backend, config.nproc)
    if config.nproc > 1 or config.backend in ("deepspeed", "fsdp"):  # own processes, own process group
        if remote:
            train_uri = str(storage.download_dir(train_uri, ctx.scratch / "tokens" / "train"))
            val_uri = str(storage.download_dir(val_uri, ctx.scratch / "tokens" / "val"))
        job = write_job(ctx.scratch / "job.json", model_config, settings, train_uri, val_uri, str(run_dir),
                        init_from=init_from)
        launch(job, config.nproc)
    else:
        train(model_config, settings, train_shards, val_shards, run_dir, init_from=init_from)
    summary = json.loads((run_dir / "summary.json").read_text())
    plot_metrics(run_dir / "metrics.jsonl", run_dir / "loss.png", unigram=summary["unigram_val_loss"],
                 title=f"{ctx.recipe_name}: {ctx.stage} of {config.model} ({model_config.num_params() / 1e6:.2f}M "
                 f"params), {summary['steps']:,} steps, peak lr {config.lr:g}")
    # from the log, not the process: a resumed run's first loss is the original run's first step
    rows = [r for r in read_metrics(run_dir / "metrics.jsonl") if "loss" in r]
    first_loss, last_loss = (rows[0]["loss"], rows[-1]["loss"]) if rows else (None, None)
    mean_tps = sum(r["tokens_per_s"] for r in rows) / max(1, len(rows))
    if remote:
        storage.upload_dir(run_dir, ctx.output_uri)
    final_val, unigram = summary["final_val_loss"], summary["unigram_val_loss"]
    if unigram is not None and not final_val < unigram:
        ctx.log.warning("pretrain: validation loss %.4f is NOT below the unigram baseline %.4f: the model learned "
                        "no more than token frequencies (train longer or raise lr)", final_val, unigram)
    metrics = {
        "final_val_loss": final_val, "unigram_val_loss": unigram,
        "beats_unigram": bool(unigram is not None and final_val < unigram),
        "first_train_loss": first_loss, "last_train_loss": last_loss,
        "steps": summary["steps"], "tokens_seen": summary["tokens_seen"],
        "model": config.model, "model_params": model_config.num_params(),
        "mean_tokens_per_s": round(mean_tps, 1),
        "checkpoints": storage.join(ctx.output_uri, "checkpoints"),
        "token_fingerprint": data.fingerprint.to_dict(),
    }
    summary_line = (f"{config.model} {model_config.num_params() / 1e6:.2f}M params, {summary['steps']} steps: "
                    f"val loss {final_val:.4f} vs unigram {unigram:.4f}" if unigram is not None else "")
    if ctx.previous is not None:
        before = _steps_total(ctx.previous)
        metrics["incremental"] = {"previous_key": ctx.previous.key, "init_from": ctx.previous.key,
                                  "previous_final_val_loss": ctx.previous.metrics.get("final_val_loss"),
                                  "previous_steps_total": before, "steps_total": before + summary["steps"]}
        summary_line = f"continued from {ctx.previous.key}: " + summary_line
    return StageResult(
        metrics=metrics, artifacts={"final": "final", "checkpoints": "checkpoints"},
        summary=summary_line,
    )


def _same_model(before: dict[str, Any], now: dict[str, Any], previous_key: str) -> None:
    """A retrain continues the same model: a changed shape is a clear error, not a state-dict mismatch."""
    from opc_core.errors import OpcError

    changed = {k: (before.get(k), now.get(k)) for k in sorted(set(before) | set(now)) if before.get(k) != now.get(k)}
    if changed:
        what = ", ".join(f"{k} {a} -> {b}" for k, a, b in ((k, *v) for k, v in changed.items()))
        raise OpcError(f"this retrain would continue the pretrain output {previous_key}, but the model differs ({what})",
                       where="stages.pretrain", hint="keep the model settings of the version you extend, or start "
                       "a new series (move <workdir>/_versions/<recipe>.json away)")


def _steps_total(m) -> int:
    """Optimizer steps behind an output's weights, over every version it continues."""
    return int(m.metrics.get("incremental", {}).get("steps_total", m.metrics.get("steps", 0)))


STAGE = StageSpec(
    name="pretrain",
    config_model=PretrainConfig,
    run=run,
    inputs={"tokens": "tokenize"},
    # what computes the weights: not eval-only modules (generation), so editing those retrains nothing
    code_modules=("opc_train.pretrain_stage", "opc_train.train_loop", "opc_train.train_settings",
                  "opc_train.engines", "opc_train.optimizer", "opc_train.validation", "opc_train.metrics",
                  "opc_train.process_group", "opc_train.distributed", "opc_train.model", "opc_train.parallelize",
                  "opc_train.fsdp_engine", "opc_train.prefetch",
                  "opc_train.model_configs", "opc_train.checkpoint", "opc_train.data_loader",
                  "opc_train.wsd_schedule", "opc_train.cosine_schedule", "opc_train.unigram_baseline",
                  "opc_train.token_shards", "opc_train.tokenizer", "opc_core.chat_template"),
    volatile=("metrics.jsonl", "loss.png", "tensorboard/*"),
    extends=True,
    description="Pretrain the LLaMA-style decoder on token shards (WSD schedule, exact resume, DDP/DeepSpeed/FSDP2).",
)
