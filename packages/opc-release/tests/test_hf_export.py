"""Export -> transformers: the same logits as our model, sharded or not; tokenizer and chat template intact."""

from __future__ import annotations

import json
import os

import pytest
import torch

from opc_core import storage
from opc_core.chat_template import render_chat
from opc_release.hf_export import INDEX_FILE, export_model
from opc_train.checkpoint import load_final
from opc_train.tokenizer import load_tokenizer

CHATS = [
    [{"role": "user", "content": "Write a Python function that checks if a number is prime."}],
    [{"role": "system", "content": "Answer with code only."}, {"role": "user", "content": "Sort [3, 1, 2]"},
     {"role": "assistant", "content": "sorted([3, 1, 2])"}, {"role": "user", "content": "Now descending ✓"}],
]


def _hf(model_dir):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32, local_files_only=True).eval()


@pytest.mark.parametrize("max_shard_bytes", [2_000_000_000, 100_000], ids=["single-file", "sharded"])
def test_exported_weights_give_our_logits_in_transformers(upstream, tmp_path, max_shard_bytes, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model, config = load_final(upstream.model.uri)
    files = export_model(model, config, storage.join(upstream.tokens.uri, "tokenizer"), tmp_path, max_shard_bytes)
    if max_shard_bytes < 1_000_000:
        index = json.loads((tmp_path / INDEX_FILE).read_text())
        shards = sorted(set(index["weight_map"].values()))
        assert len(shards) > 1 and shards == sorted(f for f in files if f.startswith("model-0"))
        assert set(index["weight_map"]) == set(model.state_dict())
        assert not (tmp_path / "model.safetensors").exists()
    else:
        assert "model.safetensors" in files and not (tmp_path / INDEX_FILE).exists()
    hf = _hf(tmp_path)
    assert type(hf).__name__ == "LlamaForCausalLM"
    idx = torch.randint(0, config.vocab_size, (2, 48), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        diff = (hf(input_ids=idx).logits - model(idx)).abs().max().item()
    assert diff <= 1e-4
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["architectures"] == ["LlamaForCausalLM"] and (cfg["bos_token_id"], cfg["eos_token_id"]) == (0, 1)


def test_export_is_byte_identical_when_repeated(upstream, tmp_path):
    model, config = load_final(upstream.model.uri)
    tok = storage.join(upstream.tokens.uri, "tokenizer")
    export_model(model, config, tok, tmp_path / "a", 100_000)
    export_model(model, config, tok, tmp_path / "b", 100_000)
    for name in os.listdir(tmp_path / "a"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_released_tokenizer_round_trips_and_renders_chats_like_ours(released, monkeypatch):
    from transformers import AutoTokenizer

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _, _, model_dir = released
    hf = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    ours = load_tokenizer(str(model_dir))
    code = "def add(a, b):\n    return a + b  # ünïcode ✓\n\n\tclass X: pass\n"
    assert hf(code)["input_ids"] == ours.encode(code).ids
    assert hf.decode(hf(code)["input_ids"], skip_special_tokens=True) == code
    assert hf.model_max_length == 128
    for chat in CHATS:
        for gen in (False, True):
            theirs = hf.apply_chat_template(chat, tokenize=True, add_generation_prompt=gen)
            theirs = list(theirs["input_ids"] if hasattr(theirs, "keys") else theirs)
            assert theirs == ours.encode(render_chat(chat, gen), add_special_tokens=False).ids
