"""Export a trained checkpoint as a Hugging Face model directory (``LlamaForCausalLM``).

    pretrain (or sft) output/final/{model.safetensors, model_config.json}   tokenize output/tokenizer/
                     │ load_final                                                 │
                     ▼                                                            ▼
    model/config.json  generation_config.json  model.safetensors | model-0000i-of-0000n.safetensors
          + model.safetensors.index.json (when sharded)   tokenizer.json  tokenizer_config.json
          special_tokens_map.json

Our parameter names already are ``LlamaForCausalLM``'s (see ``opc_train.model``), so the export is a
rename-free copy in fp32. Weights are split into shards of at most ``max_shard_bytes`` (tensors are
never split; the index maps each tensor to its file, as ``transformers`` expects). All bytes are a
function of the weights, so exporting the same checkpoint twice gives identical files. The model
card, attribution and checksums are written by the stage (``stage.py``), not here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from opc_core import storage
from opc_core.errors import OpcError

INDEX_FILE = "model.safetensors.index.json"
SINGLE_FILE = "model.safetensors"


def hf_config(model_config, special_ids: dict[str, int]) -> dict[str, Any]:
    """``config.json``: the model's LlamaConfig fields plus the tokenizer's special ids."""
    config = dict(model_config.to_hf_config())
    config.update(bos_token_id=special_ids["bos"], eos_token_id=special_ids["eos"], pad_token_id=special_ids["pad"],
                  use_cache=True)
    return config


def generation_config(special_ids: dict[str, int]) -> dict[str, Any]:
    """Greedy by default; ``<|im_end|>`` stops both documents and ChatML turns."""
    return {"bos_token_id": special_ids["bos"], "eos_token_id": special_ids["eos"],
            "pad_token_id": special_ids["pad"], "do_sample": False}


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def save_weights(state_dict: dict, out_dir: Path, max_shard_bytes: int) -> list[str]:
    """Write fp32 safetensors, sharded above ``max_shard_bytes``; returns the weight file names."""
    import torch
    from safetensors.torch import save_file

    tensors = {name: t.detach().to(torch.float32).contiguous().clone() for name, t in sorted(state_dict.items())}
    shards: list[dict[str, Any]] = [{}]
    size = 0
    for name, t in tensors.items():
        nbytes = t.numel() * t.element_size()
        if shards[-1] and size + nbytes > max_shard_bytes:
            shards.append({})
            size = 0
        shards[-1][name] = t
        size += nbytes
    if len(shards) == 1:
        save_file(shards[0], str(out_dir / SINGLE_FILE), metadata={"format": "pt"})
        storage.umask_permissions(out_dir / SINGLE_FILE)  # safetensors writes 0600
        return [SINGLE_FILE]
    names = [f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors" for i in range(len(shards))]
    weight_map = {}
    for name, shard in zip(names, shards, strict=True):
        save_file(shard, str(out_dir / name), metadata={"format": "pt"})
        storage.umask_permissions(out_dir / name)
        weight_map.update(dict.fromkeys(shard, name))
    total = sum(t.numel() * t.element_size() for t in tensors.values())
    _write_json(out_dir / INDEX_FILE, {"metadata": {"total_size": total}, "weight_map": weight_map})
    return [*names, INDEX_FILE]


def load_weights(model_dir: Path) -> dict:
    """The state dict of an exported directory, single file or sharded (for our own model in ``verify``)."""
    from safetensors.torch import load_file

    if (model_dir / SINGLE_FILE).exists():
        return load_file(str(model_dir / SINGLE_FILE))
    index = model_dir / INDEX_FILE
    if not index.exists():
        raise OpcError(f"neither {SINGLE_FILE} nor {INDEX_FILE} is here", where=str(model_dir))
    weights: dict = {}
    for name in sorted(set(json.loads(index.read_text())["weight_map"].values())):
        weights.update(load_file(str(model_dir / name)))
    return weights


def model_config_from_hf(config: dict[str, Any]):
    """Our ``ModelConfig`` from an exported ``config.json`` (the inverse of ``ModelConfig.to_hf_config``)."""
    from opc_train.model import ModelConfig

    if config.get("model_type") != "llama":
        raise OpcError(f"config.json has model_type {config.get('model_type')!r}, expected 'llama'")
    return ModelConfig(
        vocab_size=config["vocab_size"], dim=config["hidden_size"], n_layers=config["num_hidden_layers"],
        n_heads=config["num_attention_heads"], n_kv_heads=config["num_key_value_heads"],
        ffn_dim=config["intermediate_size"], max_seq_len=config["max_position_embeddings"],
        rope_theta=float(config.get("rope_theta") or config.get("rope_parameters", {}).get("rope_theta", 10_000.0)),
        norm_eps=config["rms_norm_eps"], init_std=config.get("initializer_range", 0.02),
    )


def export_model(model, model_config, tokenizer_uri: str, out_dir: Path, max_shard_bytes: int) -> list[str]:
    """Write weights, ``config.json``, ``generation_config.json`` and the tokenizer files into ``out_dir``."""
    from opc_train.tokenizer import TOKENIZER_FILES, load_tokenizer, special_ids

    out_dir.mkdir(parents=True, exist_ok=True)
    ids = special_ids(load_tokenizer(tokenizer_uri))
    tok_vocab = load_tokenizer(tokenizer_uri).get_vocab_size(with_added_tokens=True)
    if model_config.vocab_size < tok_vocab:
        raise OpcError(f"model vocab_size {model_config.vocab_size} < tokenizer vocab {tok_vocab}",
                       where=tokenizer_uri, hint="release the model with the tokenizer it was trained with")
    files = save_weights(model.state_dict(), out_dir, max_shard_bytes)
    _write_json(out_dir / "config.json", hf_config(model_config, ids))
    _write_json(out_dir / "generation_config.json", generation_config(ids))
    for name in TOKENIZER_FILES:
        data = storage.read_bytes(storage.join(tokenizer_uri, name))
        if name == "tokenizer_config.json":
            cfg = json.loads(data)
            cfg["model_max_length"] = model_config.max_seq_len
            data = (json.dumps(cfg, indent=2, sort_keys=True) + "\n").encode("utf-8")
        (out_dir / name).write_bytes(data)
    return [*files, "config.json", "generation_config.json", *TOKENIZER_FILES]
