"""The ``anneal`` stage: branch from a stable-phase pretrain checkpoint and run the WSD decay on a new mixture.

    pretrain output checkpoints/step-N  (from_step: N | latest; must be in the stable phase)
        │ weights (+ AdamW moments when optimizer: keep)       lr_N = the pretrain schedule's lr at step N
    sources (data / recall / algorithmic / synth sets, data-stage schema) ─▶ anneal_mixture ─▶ tokens/train/
        ▼
    train_loop.train(init_from=step-N, schedule = WSD decay from lr_N over decay_steps)   val: tokenize val/
    <out>/ metrics.jsonl  summary.json  loss.png  checkpoints/  final/  tokens/train/  mixture.json

Schedule: the anneal's step s (0-based) has the learning rate the pretrain schedule branched at N would
have at step N + s (``WSDSchedule.anneal_from(N, decay_steps)``): its first step runs at the stable lr of
step N, then decays with ``decay_shape`` to ``min_lr`` (both default to the pretrain schedule's). Step
numbers in metrics.jsonl count anneal steps from 1; ``branch_step`` in the summary says where it began.

State handling, explicit in the recipe:
- ``optimizer: keep`` (default) loads the AdamW moments of step N, as a run that simply continued into
  its decay would have them; ``reset`` starts the moments from zero (torch backend only for keep).
- ``data_position: reset`` (the only value): the anneal mix is new token data, so the pretraining
  loader's position has no meaning in it; the anneal loader starts at its own epoch 0 with the recipe seed.
  RNG state likewise starts from the seed.

Resume, checkpoints, DDP/DeepSpeed: the pretraining loop's (a killed anneal re-run with the same recipe
resumes from its own last checkpoint, bitwise on CPU). Token accounting: ``mixture.json`` and the
manifest give, per source, natural / planned / written / consumed tokens and epochs repeated; a source
repeated 10x or more is a warning in the summary.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from opc_core.stage import StageContext, StageResult, StageSpec
from opc_train.anneal_mixture import AnnealSource


class AnnealConfig(BaseModel):
    """Every field of ``stages.anneal``; see the module docstring."""

    model_config = ConfigDict(extra="forbid")

    from_stage: str = Field("pretrain", description="the pretrain run to branch from")
    from_step: int | Literal["latest"] = Field("latest", description="a checkpoint step of that run, or the latest")
    tokens_stage: str = Field("tokenize", description="the pretraining tokenizer and validation split")
    sources: list[AnnealSource] = Field(min_length=1)
    total_tokens: int | None = Field(None, ge=1, description="the whole mix (needed when a source has a weight)")
    decay_steps: int | None = Field(None, ge=1, description="default: one pass over the mix (tokens / tokens per step)")
    decay_shape: Literal["linear", "cosine", "1-sqrt"] | None = Field(None, description="default: the pretrain run's")
    min_lr: float | None = Field(None, ge=0, description="default: the pretrain run's")
    optimizer: Literal["keep", "reset"] = "keep"
    data_position: Literal["reset"] = "reset"
    micro_batch_size: int | None = Field(None, ge=1, description="default: the pretrain run's")
    grad_accum_steps: int | None = Field(None, ge=1, description="default: the pretrain run's")
    eval_every: int = Field(0, ge=0)
    eval_batches: int | None = Field(None, ge=1)
    checkpoint_every: int = Field(100, ge=0)
    keep_last: int = Field(2, ge=1)
    log_every: int = Field(25, ge=1)
    device: Literal["auto", "cpu", "cuda"] | None = None
    backend: Literal["torch", "deepspeed"] = "torch"
    nproc: int = Field(1, ge=1)
    threads: int | None = Field(None, ge=1)
    shard_tokens: int = Field(1 << 27, ge=1024)

    @model_validator(mode="after")
    def _consistent(self) -> AnnealConfig:
        names = [s.name for s in self.sources]
        if len(set(names)) != len(names):
            raise ValueError(f"anneal source names repeat: {names}")
        if self.optimizer == "keep" and self.backend == "deepspeed":
            raise ValueError("optimizer: keep needs the torch backend (DeepSpeed keeps its own optimizer format)")
        return self


def _inputs(config: AnnealConfig) -> dict[str, str]:
    roles = {"model": config.from_stage, "tokens": config.tokens_stage}
    for s in config.sources:
        roles[s.input] = s.input
    return roles


def choose_checkpoint(run_dir, from_step: int | Literal["latest"]):
    """(step, folder) of the requested checkpoint; an error names the steps that exist."""
    from opc_core.errors import OpcError
    from opc_train.checkpoint import list_checkpoints

    found = list_checkpoints(run_dir)
    if not found:
        raise OpcError("the pretrain run kept no checkpoints to branch from", where=str(run_dir),
                       hint="pretrain with checkpoint_every > 0 (and milestone_every to keep stable-phase steps)")
    if from_step == "latest":
        return found[-1]
    for step, path in found:
        if step == from_step:
            return step, path
    raise OpcError(f"step {from_step} is not a checkpoint of this pretrain run; available steps: "
                   f"{[s for s, _ in found]}", where=str(run_dir), hint="set stages.anneal.from_step to one of them")


def branch_schedule(pretrain_schedule: dict[str, Any], step: int, decay_steps: int,
                    decay_shape: str | None = None, min_lr: float | None = None):
    """The anneal's own schedule: step s has the lr of ``anneal_from(step, decay_steps)`` at ``step + s``."""
    from dataclasses import replace

    from opc_core.errors import OpcError
    from opc_train.cosine_schedule import schedule_from_dict
    from opc_train.wsd_schedule import WSDSchedule

    sched = schedule_from_dict(pretrain_schedule)
    if not isinstance(sched, WSDSchedule):
        raise OpcError(f"the pretrain run used a {sched.kind} schedule; annealing branches from a WSD run")
    if not sched.warmup_steps <= step <= sched.start_of_decay:  # completed steps: N = decay start is stable
        raise OpcError(f"checkpoint step {step} is in the {sched.phase(step)} phase of the pretrain schedule "
                       f"(stable: steps {sched.warmup_steps}..{sched.start_of_decay - 1})",
                       hint="branch from a stable-phase checkpoint (from_step), kept with pretrain milestone_every")
    branch = sched.anneal_from(step, decay_steps)
    branch = replace(branch, decay_shape=decay_shape or branch.decay_shape,
                     min_lr=branch.min_lr if min_lr is None else min_lr)
    lr_n = branch.lr(step)
    return WSDSchedule(peak_lr=lr_n, total_steps=decay_steps, warmup_steps=0, decay_steps=decay_steps, decay_start=0,
                       decay_shape=branch.decay_shape, min_lr=branch.min_lr)


def run(config: AnnealConfig, ctx: StageContext) -> StageResult:
    import json
    from dataclasses import replace
    from pathlib import Path

    import torch

    from opc_core import storage
    from opc_train.anneal_mixture import REPEAT_WARNING, build_mixture, consumed_tokens
    from opc_train.data_loader import TokenBatchLoader
    from opc_train.distributed import launch, write_job
    from opc_train.model import ModelConfig
    from opc_train.token_shards import TokenShards, open_token_data
    from opc_train.tokenizer import load_tokenizer
    from opc_train.train_loop import train
    from opc_train.train_settings import TrainSettings

    pretrain_uri = ctx.input_uri("model")
    ckpt_root = (storage.download_dir(ctx.input_artifact("model", "checkpoints"), ctx.scratch / "pretrain" / "checkpoints")
                 .parent if storage.is_remote(pretrain_uri) else Path(pretrain_uri))
    step, ckpt = choose_checkpoint(ckpt_root, config.from_step)
    state = torch.load(ckpt / "trainer_state.pt", weights_only=False)
    pre = TrainSettings.from_dict(state["extra"]["settings"])
    model_config = ModelConfig.from_dict(state["model_config"])

    data = open_token_data(ctx.input_uri("tokens"), cache_dir=ctx.scratch / "token-cache")
    remote = storage.is_remote(ctx.output_uri)
    run_dir = Path(ctx.scratch / "run") if remote else Path(ctx.output_uri)
    train_uri = str(run_dir / "tokens" / "train")
    # a resumed run keeps its mixture (index.json, then mixture.json, are written last)
    if not ((run_dir / "tokens" / "train" / "index.json").exists() and (run_dir / "mixture.json").exists()):
        uris = {s.name: storage.join(ctx.input_uri(s.input), s.subdir) for s in config.sources}
        report = build_mixture(config.sources, uris, load_tokenizer(data.tokenizer_uri), data.fingerprint,
                               config.total_tokens, train_uri, ctx.scratch / "mix", ctx.seed, config.shard_tokens)
        (run_dir / "mixture.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    report = json.loads((run_dir / "mixture.json").read_text())
    train_shards = TokenShards.open(train_uri, expect=data.fingerprint)

    micro = config.micro_batch_size or pre.micro_batch_size
    accum = config.grad_accum_steps or pre.grad_accum_steps
    tokens_per_step = micro * accum * config.nproc * pre.seq_len
    planned = sum(e["planned_tokens"] for e in report.values())
    decay_steps = config.decay_steps or max(1, planned // tokens_per_step)
    settings = replace(
        pre, max_steps=decay_steps, micro_batch_size=micro, grad_accum_steps=accum,
        schedule=branch_schedule(state["schedule"], step, decay_steps, config.decay_shape, config.min_lr),
        eval_every=config.eval_every, eval_batches=config.eval_batches or pre.eval_batches,
        checkpoint_every=config.checkpoint_every, keep_last=config.keep_last, milestone_every=None,
        log_every=config.log_every, device=config.device or pre.device, seed=ctx.seed, num_threads=config.threads,
        backend=config.backend, zero_stage=pre.zero_stage if config.backend == "deepspeed" else 0,
    )
    ctx.log.info("anneal: branch at step %d (lr %.3g), %d decay steps x %d tokens on %d mixture tokens (%s)", step,
                 settings.schedule.peak_lr, decay_steps, tokens_per_step, train_shards.n_tokens,
                 ", ".join(f"{k} {v['epochs']}x" for k, v in report.items()))
    keep = config.optimizer == "keep"
    if config.nproc > 1 or config.backend == "deepspeed":
        val_uri = storage.join(data.uri, "val")
        if storage.is_remote(val_uri):
            val_uri = str(storage.download_dir(val_uri, ctx.scratch / "tokens" / "val"))
        job = write_job(ctx.scratch / "job.json", model_config, settings, train_uri, val_uri, str(run_dir),
                        init_from=str(ckpt), init_optimizer=keep)
        launch(job, config.nproc)
    else:
        train(model_config, settings, train_shards, data.val, run_dir, init_from=ckpt, init_optimizer=keep)

    loader = TokenBatchLoader(train_shards, settings.seq_len, micro * config.nproc, seed=settings.seed)
    consumed = consumed_tokens(loader, decay_steps * accum)
    for name, entry in report.items():
        entry["consumed_tokens"] = consumed[name]
        entry["consumed_epochs"] = round(consumed[name] / entry["natural_tokens"], 4)
    warnings = [f"source {n!r} is repeated {e['epochs']}x (>= {REPEAT_WARNING:g}x): the model may memorise it"
                for n, e in report.items() if e["epochs"] >= REPEAT_WARNING]
    for w in warnings:
        ctx.log.warning("anneal: %s", w)
    summary = json.loads((run_dir / "summary.json").read_text())
    summary.update({"branch_step": step, "branch_lr": settings.schedule.peak_lr, "optimizer": config.optimizer,
                    "data_position": config.data_position, "sources": report, "warnings": warnings})
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    if remote:
        storage.upload_dir(run_dir, ctx.output_uri)
    metrics = {"final_val_loss": summary["final_val_loss"], "unigram_val_loss": summary["unigram_val_loss"],
               "steps": summary["steps"], "tokens_seen": summary["tokens_seen"], "branch_step": step,
               "branch_lr": settings.schedule.peak_lr, "sources": report, "warnings": warnings,
               "model_params": model_config.num_params(), "optimizer": config.optimizer,
               "planned_tokens": planned,
               "consumed_tokens": sum(consumed.values())}
    return StageResult(metrics=metrics, artifacts={"final": "final", "checkpoints": "checkpoints"}, summary=(
        f"branched at step {step}, {summary['steps']} decay steps on "
        + ", ".join(f"{n} {e['consumed_tokens']}/{e['planned_tokens']} tok" for n, e in report.items())
        + f": val loss {summary['final_val_loss']:.4f}" + (f"; {len(warnings)} warning(s)" if warnings else "")))


STAGE = StageSpec(
    name="anneal",
    config_model=AnnealConfig,
    run=run,
    inputs=_inputs,
    code_modules=("opc_train.anneal_stage", "opc_train.anneal_mixture", "opc_train.train_loop",
                  "opc_train.train_settings", "opc_train.engines", "opc_train.optimizer",
                  "opc_train.validation", "opc_train.metrics", "opc_train.process_group", "opc_train.distributed",
                  "opc_train.model", "opc_train.parallelize", "opc_train.fsdp_engine", "opc_train.prefetch",
                  "opc_train.model_configs", "opc_train.checkpoint", "opc_train.data_loader",
                  "opc_train.wsd_schedule", "opc_train.cosine_schedule", "opc_train.unigram_baseline",
                  "opc_train.token_shards", "opc_train.tokenizer", "opc_core.chat_template"),
    volatile=("metrics.jsonl", "loss.png"),
    description="Anneal: branch from a stable-phase pretrain checkpoint, WSD decay on a new mixture (token budgets).",
)
