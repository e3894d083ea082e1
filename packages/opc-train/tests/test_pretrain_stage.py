"""The pretrain stage on a real tokenize output: the documented output layout, learning, determinism."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import pytest
import torch

from opc_core.content_key import output_fingerprint
from opc_core.errors import OpcError
from opc_core.manifest import Manifest
from opc_core.stage import StageContext
from opc_train.checkpoint import load_final
from opc_train.pretrain_stage import STAGE, PretrainConfig, build_model_config
from opc_train.tokenize_stage import STAGE as TOKENIZE
from opc_train.tokenize_stage import TokenizeConfig

SMALL = {"model_overrides": {"dim": 64, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2, "ffn_dim": 128},
         "seq_len": 64, "micro_batch_size": 8, "max_steps": 60, "lr": 5e-3, "warmup_steps": 6,
         "eval_every": 20, "eval_batches": 4, "checkpoint_every": 20, "log_every": 20}


# the named artifacts the real stages declare (StageResult.artifacts)
ARTIFACTS = {"tokenize": {"tokenizer": "tokenizer", "train": "train", "val": "val"},
             "pretrain": {"final": "final", "checkpoints": "checkpoints"}, "release": {"model": "model"}}


def _manifest(stage: str, uri: str) -> Manifest:
    return Manifest(stage=stage, key="k" * 16, uri=uri, fingerprint="f" * 32, code_version="c",
                    created="2026-01-01T00:00:00Z", artifacts=ARTIFACTS.get(stage, {}))


def _ctx(tmp: Path, stage: str, inputs: dict[str, Manifest], name: str) -> StageContext:
    out, scratch = tmp / name, tmp / f"{name}-scratch"
    out.mkdir()
    scratch.mkdir()
    return StageContext(stage=stage, key="k" * 16, output_uri=str(out), workdir=str(tmp), seed=1234,
                        recipe_name="test", recipe={}, inputs=inputs, scratch=scratch, log=logging.getLogger(f"opc.{stage}"))


@pytest.fixture(scope="module")
def tokens_uri(tmp_path_factory, write_kept) -> str:
    tmp = tmp_path_factory.mktemp("pretrain-tokens")
    write_kept(str(tmp / "data"))
    ctx = _ctx(tmp, "tokenize", {"data": _manifest("data", str(tmp / "data"))}, "tokens")
    TOKENIZE.run(TokenizeConfig(vocab_size=1024, val_fraction=0.1, shard_tokens=200_000), ctx)
    return ctx.output_uri


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory, tokens_uri):
    tmp = tmp_path_factory.mktemp("pretrain")
    ctx = _ctx(tmp, "pretrain", {"tokens": _manifest("tokenize", tokens_uri)}, "out")
    result = STAGE.run(PretrainConfig(**SMALL), ctx)
    return Path(ctx.output_uri), result, tmp


def test_output_has_the_documented_layout(pretrained) -> None:
    out, result, _ = pretrained
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    train_rows = [r for r in rows if "loss" in r]
    val_rows = [r for r in rows if "val_loss" in r]
    assert [r["step"] for r in train_rows] == list(range(1, 61))
    for r in train_rows:
        assert all(isinstance(r[k], int | float) and math.isfinite(r[k]) for k in ("step", "loss", "lr", "tokens_per_s"))
    assert [r["step"] for r in val_rows] == [20, 40, 60] and all("loss" not in r for r in val_rows)
    summary = json.loads((out / "summary.json").read_text())
    assert isinstance(summary["final_val_loss"], float) and isinstance(summary["unigram_val_loss"], float)
    assert summary["final_val_loss"] == val_rows[-1]["val_loss"] == result.metrics["final_val_loss"]
    assert (out / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["step-00000040", "step-00000060"]
    assert (out / "final" / "model.safetensors").exists() and (out / "final" / "model_config.json").exists()


def test_loss_falls_and_validation_beats_the_unigram_baseline(pretrained) -> None:
    out, result, _ = pretrained
    m = result.metrics
    assert m["last_train_loss"] < m["first_train_loss"] - 1.0
    assert m["final_val_loss"] < m["unigram_val_loss"] and m["beats_unigram"]


def test_final_model_loads_into_llama_for_causal_lm(pretrained, tokens_uri) -> None:
    from transformers import LlamaConfig, LlamaForCausalLM

    out, _, _ = pretrained
    model, config = load_final(str(out))
    meta = json.loads((Path(tokens_uri) / "tokens_meta.json").read_text())
    assert config.vocab_size >= meta["vocab_size"] and config.vocab_size % 64 == 0
    hf_fields = {k: v for k, v in config.to_hf_config().items() if k not in ("architectures", "model_type")}
    hf = LlamaForCausalLM(LlamaConfig(**hf_fields)).eval()
    from safetensors.torch import load_file

    hf.load_state_dict(load_file(str(out / "final" / "model.safetensors")), strict=True)
    idx = torch.randint(0, meta["vocab_size"], (1, 32))
    with torch.no_grad():
        assert (hf(input_ids=idx).logits - model(idx)).abs().max().item() <= 1e-4


def test_a_deterministic_redo_has_the_same_output_fingerprint(pretrained, tokens_uri) -> None:
    out, _, tmp = pretrained
    ctx = _ctx(tmp, "pretrain", {"tokens": _manifest("tokenize", tokens_uri)}, "redo")
    STAGE.run(PretrainConfig(**SMALL), ctx)
    assert output_fingerprint(str(out), STAGE.volatile)[0] == output_fingerprint(ctx.output_uri, STAGE.volatile)[0]
    # the volatile files really differ (timings), the rest is byte-identical
    assert (out / "final" / "model.safetensors").read_bytes() == (Path(ctx.output_uri) / "final" / "model.safetensors").read_bytes()


def test_model_vocab_smaller_than_the_tokenizer_is_refused(tmp_path, tokens_uri) -> None:
    ctx = _ctx(tmp_path, "pretrain", {"tokens": _manifest("tokenize", tokens_uri)}, "out")
    with pytest.raises(OpcError, match="vocab_size"):
        STAGE.run(PretrainConfig(**{**SMALL, "vocab_size": 512, "max_steps": 2, "warmup_steps": 1}), ctx)


def test_recipe_validation_names_bad_fields_without_importing_torch() -> None:
    import subprocess
    import sys

    code = ("import sys; from opc_train.pretrain_stage import PretrainConfig; PretrainConfig(model='tiny');"
            "print('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
    with pytest.raises(ValueError, match="model"):
        PretrainConfig(model="gpt-5")
    with pytest.raises(ValueError, match="warmup_steps"):
        PretrainConfig(max_steps=10, warmup_steps=20)
    assert build_model_config(PretrainConfig(), 8000).vocab_size == 8000
    assert build_model_config(PretrainConfig(), 8001).vocab_size == 8064


def test_output_on_s3_is_complete_and_load_final_reads_it(tmp_path, tokens_uri, s3_bucket) -> None:
    from opc_core import storage

    ctx = _ctx(tmp_path, "pretrain", {"tokens": _manifest("tokenize", tokens_uri)}, "unused")
    ctx.output_uri = f"{s3_bucket}/pretrain/k"
    STAGE.run(PretrainConfig(**{**SMALL, "max_steps": 4, "warmup_steps": 1, "checkpoint_every": 2}), ctx)
    files = storage.list_files(ctx.output_uri)
    for name in ("metrics.jsonl", "summary.json", "loss.png", "final/model.safetensors", "final/model_config.json",
                 "checkpoints/step-00000004/model.safetensors"):
        assert name in files, files
    model, config = load_final(ctx.output_uri)
    assert config.dim == 64 and sum(p.numel() for p in model.parameters()) == config.num_params()


@pytest.mark.slow
def test_nproc_2_runs_the_stage_under_torchrun_with_the_same_outputs(tmp_path, tokens_uri, monkeypatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    ctx = _ctx(tmp_path, "pretrain", {"tokens": _manifest("tokenize", tokens_uri)}, "ddp")
    result = STAGE.run(PretrainConfig(**{**SMALL, "max_steps": 4, "warmup_steps": 1, "micro_batch_size": 4,
                                         "nproc": 2, "checkpoint_every": 2}), ctx)
    out = Path(ctx.output_uri)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["steps"] == 4 and summary["tokens_seen"] == 4 * 8 * 64
    assert result.metrics["final_val_loss"] == summary["final_val_loss"] and result.metrics["first_train_loss"] > 0
    assert (out / "final" / "model.safetensors").exists() and (out / "checkpoints" / "step-00000004").is_dir()


def test_token_shards_of_another_tokenizer_are_refused_before_training(tmp_path, tokens_uri) -> None:
    import shutil

    other = tmp_path / "tokens"
    shutil.copytree(tokens_uri, other)
    meta = json.loads((other / "tokens_meta.json").read_text())
    meta["fingerprint"]["tokenizer_hash"] = "0" * 64
    (other / "tokens_meta.json").write_text(json.dumps(meta))
    ctx = _ctx(tmp_path, "pretrain", {"tokens": _manifest("tokenize", str(other))}, "out")
    with pytest.raises(OpcError, match="tokenizer_hash"):
        STAGE.run(PretrainConfig(**SMALL), ctx)
    assert not (Path(ctx.output_uri) / "metrics.jsonl").exists()
