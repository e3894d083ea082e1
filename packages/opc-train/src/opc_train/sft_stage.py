"""The ``sft1`` and ``sft2`` stages: one implementation, two registered names, each its own recipe section.

    conversations: code (data kept/ -> code_conversations)  + synth sets (Parquet `messages`) + user files
        │ normalise (conversations.py) ─▶ quarantined: malformed (reason)
        │ decontaminate against the eval benchmarks (opc_data.decontamination) ─▶ rejected (benchmark/task)
        │ split by content hash ─▶ val (val_fraction)  |  train
        │ render ChatML + assistant-only mask, truncation policy (sft_data.py) ─▶ quarantined: over_long
        ▼
    model_stage final/ weights ─▶ train_loop.train(..., init_from, data=SFTTrainData)   cosine, warmup
    <out>/ metrics.jsonl  summary.json  loss.png  checkpoints/  final/   data/{train,val}.parquet
           quarantine.jsonl  decontamination.json

OpenCoder's two stages [P, Sec. 4.2]: stage 1 on broad instruction data (1 epoch, lr 2e-5, global batch
4096, max length 1216), stage 2 on high-quality code data (3 epochs, lr 5e-5, global batch 512, max
length 1500), both with 100 warmup steps and cosine decay. ``sft2`` sets ``model_stage: sft1`` and so
starts from sft1's final weights. ``global_batch`` counts conversations; the loss is the mean over the
assistant tokens of the global batch (the loop normalises by target tokens, as in pretraining).

Before/after: the held-out assistant-token loss of the starting model and of the trained one are both
in the manifest metrics (``val_loss_before``, ``val_loss_after``). No packing: each micro-batch pads
its conversations to the longest (``sft_data``); ``padding_efficiency`` (real / computed tokens) is
reported. Measured (``benchmarks/sft_padding.py``, 773 code-derived conversations <= 256 tokens, tiny
model, micro-batch 8, one thread, machine load ~15 on 2 cores): padding efficiency 0.655, 1.50x the step
time per real token of the same tokens packed into full rows. Packing with document masks is the next
step for long-tail data (it needs a block mask in ``model.py``). Resume: a killed run re-run with the same recipe lands in the same folder and continues from
its last checkpoint bitwise (CPU). This stage runs in one process (no torchrun / DeepSpeed yet).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from opc_core.stage import StageContext, StageResult, StageSpec
from opc_data.decontamination import BenchmarkSource, DecontaminationConfig


class CodeConversations(BaseModel):
    """Conversations built from the data stage's kept Python files (``code_conversations``)."""

    model_config = ConfigDict(extra="forbid")
    tasks: list[Literal["implement", "explain"]] = Field(default_factory=lambda: ["implement", "explain"],
                                                         description="implement: docstring -> function; explain: "
                                                                     "function -> docstring")
    max_per_repo: int = Field(200, ge=1)
    max_total: int | None = Field(None, ge=1)


def _default_decontamination() -> DecontaminationConfig:
    return DecontaminationConfig(benchmarks=[BenchmarkSource(name="humaneval", uri="builtin:humaneval")])


class SFTConfig(BaseModel):
    """Every field of ``stages.sft1`` / ``stages.sft2``; see the module docstring."""

    model_config = ConfigDict(extra="forbid")

    model_stage: str = Field("pretrain", description="whose final/ weights to start from (pretrain, anneal, sft1)")
    tokens_stage: str = Field("tokenize", description="the tokenizer (tokenizer/ of this stage's output)")
    from_code: CodeConversations | None = Field(None, description="build conversations from the kept code")
    code_stage: str = Field("data", description="the stage whose kept/ Python files from_code reads")
    synth_sets: list[str] | None = Field(None, description="instruction sets of the synth stage (sub-folders); "
                                                           "None: no synth input")
    conversations: list[str] = Field(default_factory=list, description="your own JSONL/Parquet files or folders "
                                     "(OpenAI messages, ShareGPT conversations, Alpaca)")
    decontamination: DecontaminationConfig = Field(default_factory=_default_decontamination)
    val_fraction: float = Field(0.05, gt=0, lt=0.5, description="held-out share of conversations (content hash)")
    max_len: int = Field(1216, ge=16, description="tokens per conversation after the truncation policy")
    truncation: Literal["truncate", "drop"] = Field("truncate", description="truncate: keep the head if an answer "
                                                    "token is left; drop: quarantine any longer conversation")
    epochs: float = Field(1.0, gt=0)
    max_steps: int | None = Field(None, ge=1, description="cap on optimizer steps (tiny recipes)")
    global_batch: int = Field(4096, ge=1, description="conversations per optimizer step")
    micro_batch_size: int = Field(8, ge=1)
    lr: float = Field(2e-5, gt=0)
    min_lr_ratio: float = Field(0.0, ge=0, le=1)
    warmup_steps: int = Field(100, ge=0)
    weight_decay: float = Field(0.0, ge=0)
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = Field(1.0, gt=0)
    eval_every: int = Field(0, ge=0)
    checkpoint_every: int = Field(100, ge=0)
    keep_last: int = Field(2, ge=1)
    log_every: int = Field(10, ge=1)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: int | None = Field(None, ge=1)
    seed: int | None = None

    @model_validator(mode="after")
    def _consistent(self) -> SFTConfig:
        if self.global_batch % self.micro_batch_size:
            raise ValueError(f"global_batch {self.global_batch} is not a multiple of micro_batch_size "
                             f"{self.micro_batch_size}")
        if not (self.from_code or self.synth_sets is not None or self.conversations):
            raise ValueError("no conversation data: set from_code, synth_sets or conversations")
        return self


def _inputs(config: SFTConfig) -> dict[str, str]:
    roles = {"model": config.model_stage, "tokens": config.tokens_stage}
    if config.from_code is not None:
        roles["code"] = config.code_stage
    if config.synth_sets is not None:
        roles["synth"] = "synth"
    return roles


def _external(config: SFTConfig) -> str:
    """User conversation files are outside the workdir: their sizes and hashes are part of the key."""
    from opc_core import storage
    from opc_train.conversations import conversation_files

    parts = []
    for uri in config.conversations:
        for f in conversation_files(uri):
            parts.append(f"{f}:{hashlib.sha256(storage.read_bytes(f)).hexdigest()}")
    return "|".join(parts)


def _synth_dirs(ctx: StageContext, sets: list[str]) -> list[tuple[str, str]]:
    from opc_core import storage
    from opc_core.errors import OpcError

    root = ctx.input_uri("synth")
    available = sorted({rel.split("/")[0] for rel in storage.list_files(root) if rel.endswith(".parquet")
                        and "/" in rel})
    chosen = sets or available
    missing = [s for s in chosen if s not in available]
    if missing:
        raise OpcError(f"synth sets {missing} are not in the synth output; available: {available}", where=root,
                       hint="fix stages.<sft>.synth_sets")
    return [(f"synth:{s}", storage.join(root, s)) for s in chosen]


def _collect(config: SFTConfig, ctx: StageContext, quarantine: list[dict[str, Any]]):
    """(source label, Conversation) for every usable record, in a fixed order; malformed -> quarantine."""
    from opc_core import dataset, storage
    from opc_core.lineage import version_chain
    from opc_train.code_conversations import conversations_from_code
    from opc_train.conversations import Conversation, Quarantined, normalise_record, read_conversations

    if config.from_code is not None:
        # an incremental data output holds the new files only: conversations come from every version's
        rows = itertools.chain.from_iterable(
            dataset.read_rows(storage.join(m.uri, "kept"), columns=["repo_name", "path", "content", "program_lang"])
            for m in reversed(version_chain(ctx.inputs["code"])))
        for i, row in enumerate(conversations_from_code(rows, config.from_code.max_per_repo,
                                                        config.from_code.max_total, config.from_code.tasks)):
            try:
                messages = normalise_record(row)
            except Quarantined as q:
                quarantine.append({"source": "code", "index": i, "reason": q.reason, "detail": q.detail})
                continue
            yield "code", Conversation(messages, f"{row['repo_name']}/{row['path']}", i,
                                       {"task": row["task"], "function": row["function"]})
    if config.synth_sets is not None:
        for label, uri in _synth_dirs(ctx, config.synth_sets):
            for conv in read_conversations(uri, quarantine):
                yield label, conv
    for uri in config.conversations:
        for conv in read_conversations(uri, quarantine):
            yield "user", conv


def _is_val(messages: list[dict[str, str]], fraction: float, seed: int) -> bool:
    digest = hashlib.sha256(json.dumps([seed, messages], sort_keys=True).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def _write_split(uri: str, rows: list[dict[str, Any]]) -> None:
    import pyarrow as pa

    from opc_core import dataset

    schema = pa.schema([("messages", pa.string()), ("source", pa.string()), ("origin", pa.string()),
                        ("n_tokens", pa.int64()), ("n_trainable", pa.int64())])
    dataset.write_table(uri, pa.Table.from_pylist(rows, schema=schema))


def run(config: SFTConfig, ctx: StageContext) -> StageResult:
    from collections import Counter
    from pathlib import Path

    from opc_core import storage
    from opc_core.errors import OpcError
    from opc_core.manifest import Counts
    from opc_data.decontamination import Decontaminator
    from opc_train.checkpoint import CONFIG_FILE, MODEL_FILE, load_weights
    from opc_train.cosine_schedule import CosineSchedule
    from opc_train.model import ModelConfig, Transformer
    from opc_train.sft_data import SFTTrainData, assistant_loss, padding_efficiency, render_example, truncate
    from opc_train.tokenizer import load_tokenizer, special_ids
    from opc_train.train_loop import resolve_device, train
    from opc_train.train_settings import TrainSettings

    seed = ctx.seed if config.seed is None else config.seed
    tok = load_tokenizer(ctx.input_artifact("tokens", "tokenizer"))
    pad_id = special_ids(tok)["pad"]
    quarantine: list[dict[str, Any]] = []
    decon = Decontaminator(config.decontamination)
    train_rows: list[dict[str, Any]] = []
    val_rows: list[dict[str, Any]] = []
    train_ex, val_ex = [], []
    per_source: Counter[str] = Counter()
    rejected = 0
    for label, conv in _collect(config, ctx, quarantine):
        reason = decon.reason("\n".join(m["content"] for m in conv.messages),
                              {"repo_name": label, "path": f"{conv.source}#{conv.index}", "blob_id": None})
        if reason is not None:
            rejected += 1
            continue
        example = truncate(render_example(tok, conv.messages), config.max_len, config.truncation)
        if example is None:
            quarantine.append({"source": conv.source, "index": conv.index, "reason": "over_long",
                               "detail": f"longer than max_len {config.max_len} under policy {config.truncation}"})
            continue
        per_source[label] += 1
        row = {"messages": json.dumps(conv.messages, ensure_ascii=False), "source": label,
               "origin": f"{conv.source}#{conv.index}", "n_tokens": len(example.ids),
               "n_trainable": example.n_trainable}
        if _is_val(conv.messages, config.val_fraction, seed):
            val_rows.append(row)
            val_ex.append(example)
        else:
            train_rows.append(row)
            train_ex.append(example)
    n_in = len(train_ex) + len(val_ex) + rejected + len(quarantine)
    counts = Counts.model_validate({"in": n_in, "kept": len(train_ex) + len(val_ex), "rejected": rejected,
                                    "quarantined": len(quarantine)})
    if not val_ex:
        raise OpcError(f"no validation conversations among {len(train_ex)}: raise val_fraction or add data")
    steps_per_epoch = len(train_ex) // config.global_batch
    if steps_per_epoch == 0:
        raise OpcError(f"{len(train_ex)} training conversations: fewer than one global batch of {config.global_batch}",
                       hint="lower global_batch, or add conversation data")
    max_steps = max(1, math.ceil(config.epochs * steps_per_epoch))
    if config.max_steps is not None:
        max_steps = min(max_steps, config.max_steps)
    if config.warmup_steps >= max_steps:
        raise OpcError(f"warmup_steps {config.warmup_steps} is not below the {max_steps} optimizer steps "
                       f"({len(train_ex)} conversations x {config.epochs} epochs / global batch {config.global_batch})",
                       hint="lower warmup_steps or global_batch")

    # the starting model (final/ of model_stage) and the held-out loss before training
    model_uri = ctx.input_artifact("model", "final")
    model_config = ModelConfig.from_dict(storage.read_json(storage.join(model_uri, CONFIG_FILE)))
    if model_config.max_seq_len < config.max_len:
        raise OpcError(f"max_len {config.max_len} exceeds the model's context {model_config.max_seq_len}",
                       hint=f"set max_len <= {model_config.max_seq_len}")
    init_dir = storage.download_dir(model_uri, ctx.scratch / "init") if storage.is_remote(model_uri) else model_uri
    weights = load_weights(storage.join(model_uri, MODEL_FILE))
    device = resolve_device(config.device)
    start_model = Transformer(model_config)
    start_model.load_state_dict(weights, strict=True)
    before_sum, before_n = assistant_loss(start_model.to(device), val_ex, config.micro_batch_size, pad_id, device)
    val_before = before_sum / before_n
    del start_model

    settings = TrainSettings(
        max_steps=max_steps, seq_len=config.max_len, micro_batch_size=config.micro_batch_size,
        schedule=CosineSchedule(peak_lr=config.lr, total_steps=max_steps, warmup_steps=config.warmup_steps,
                                min_lr=config.lr * config.min_lr_ratio),
        grad_accum_steps=config.global_batch // config.micro_batch_size, weight_decay=config.weight_decay,
        betas=(config.beta1, config.beta2), grad_clip=config.grad_clip, eval_every=config.eval_every,
        checkpoint_every=config.checkpoint_every, keep_last=config.keep_last, log_every=config.log_every,
        device=config.device, seed=seed, num_threads=config.threads,
    )
    remote = storage.is_remote(ctx.output_uri)
    run_dir = Path(ctx.scratch / "run") if remote else Path(ctx.output_uri)
    run_dir.mkdir(parents=True, exist_ok=True)
    _write_split(str(run_dir / "data" / "train.parquet"), train_rows)
    _write_split(str(run_dir / "data" / "val.parquet"), val_rows)
    (run_dir / "quarantine.jsonl").write_text("".join(json.dumps(q, sort_keys=True) + "\n" for q in quarantine))
    (run_dir / "decontamination.json").write_text(json.dumps(decon.report(), indent=2, sort_keys=True) + "\n")
    ctx.log.info("%s: %d train / %d val conversations (%s), %d decontaminated, %d quarantined; %d steps x %d",
                 ctx.stage, len(train_ex), len(val_ex), dict(per_source), rejected, len(quarantine), max_steps,
                 config.global_batch)
    del weights
    result = train(model_config, settings, None, None, run_dir, init_from=init_dir,
                   data=SFTTrainData(train_ex, val_ex, pad_id))
    summary = json.loads((run_dir / "summary.json").read_text())
    efficiency = padding_efficiency(train_ex, config.micro_batch_size, seed)
    extra = {"val_loss_before": val_before, "val_loss_after": result.final_val_loss,
             "sft_lowered_val_loss": result.final_val_loss < val_before, "train_conversations": len(train_ex),
             "val_conversations": len(val_ex), "per_source": dict(sorted(per_source.items())),
             "quarantine_reasons": dict(sorted(Counter(q["reason"] for q in quarantine).items())),
             "decontaminated": rejected, "padding_efficiency": round(efficiency, 4),
             "steps_per_epoch": steps_per_epoch, "epochs_run": round(max_steps / steps_per_epoch, 4)}
    summary.update(extra)
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    if remote:
        storage.upload_dir(run_dir, ctx.output_uri)
    if not result.final_val_loss < val_before:
        ctx.log.warning("%s: held-out assistant loss did not go down (%.4f -> %.4f)", ctx.stage, val_before,
                        result.final_val_loss)
    metrics = {**extra, "steps": result.steps, "tokens_seen": result.tokens_seen, "model_params":
               model_config.num_params(), "first_train_loss": result.first_loss, "last_train_loss": result.last_loss}
    return StageResult(counts=counts, metrics=metrics, artifacts={"final": "final"},
                       summary=(f"{len(train_ex)} conversations, {result.steps} steps: held-out assistant loss "
                                f"{val_before:.4f} -> {result.final_val_loss:.4f}"))


CODE_MODULES = ("opc_train.sft_stage", "opc_train.sft_data", "opc_train.conversations",
                "opc_train.code_conversations", "opc_data.decontamination", "opc_train.train_loop",
                "opc_train.train_settings", "opc_train.engines", "opc_train.optimizer",
                "opc_train.validation", "opc_train.metrics", "opc_train.process_group", "opc_train.distributed",
                "opc_train.model", "opc_train.parallelize", "opc_train.fsdp_engine", "opc_train.prefetch",
                "opc_train.model_configs", "opc_train.checkpoint", "opc_train.data_loader",
                "opc_train.wsd_schedule", "opc_train.cosine_schedule", "opc_train.unigram_baseline",
                "opc_train.token_shards", "opc_train.tokenizer", "opc_core.chat_template")


def _spec(name: str) -> StageSpec:
    return StageSpec(name=name, config_model=SFTConfig, run=run, inputs=_inputs, code_modules=CODE_MODULES,
                     external_fingerprint=_external, volatile=("metrics.jsonl", "loss.png"),
                     description="Supervised fine-tuning on ChatML conversations, loss on assistant tokens "
                                 "(OpenCoder's two SFT stages)")


SFT1 = _spec("sft1")
SFT2 = _spec("sft2")
