"""Named model shapes: recipes say ``model: tiny`` (or ``opencoder-1.5b``) and may override fields.

    name             layers  dim   ffn    heads/kv  head_dim  context  rope theta  vocab    params
    tiny                  4  128    384      4/2       32       256      10,000    (tokenizer)  ~2-3 M
    opencoder-1.5b       24  2240  6144     14/14     160      4096      10,000    96,640   ~1.9 B
    opencoder-8b         32  4096  14336    32/8      128      8192     500,000    96,640   ~7.8 B

The OpenCoder shapes are the paper's (arXiv 2411.04905, Table 1). ``tiny`` exists so the whole
pipeline trains on two CPU cores in a few minutes; its vocabulary size comes from the tokenizer the
tokenize stage trained (the recipe's ``vocab_size`` override or the token shards' metadata).
"""

from __future__ import annotations

from typing import Any

from opc_train.model import ModelConfig

MODEL_CONFIGS: dict[str, ModelConfig] = {
    "tiny": ModelConfig(
        vocab_size=8192, dim=128, n_layers=4, n_heads=4, n_kv_heads=2, ffn_dim=384, max_seq_len=256, rope_theta=10_000.0
    ),
    "opencoder-1.5b": ModelConfig(
        vocab_size=96_640, dim=2240, n_layers=24, n_heads=14, n_kv_heads=14, ffn_dim=6144, max_seq_len=4096,
        rope_theta=10_000.0,
    ),
    "opencoder-8b": ModelConfig(
        vocab_size=96_640, dim=4096, n_layers=32, n_heads=32, n_kv_heads=8, ffn_dim=14336, max_seq_len=8192,
        rope_theta=500_000.0,
    ),
}


def get_model_config(name: str, **overrides: Any) -> ModelConfig:
    """A named shape with field overrides (e.g. ``vocab_size`` from the tokenizer)."""
    if name not in MODEL_CONFIGS:
        raise KeyError(f"unknown model config {name!r}; known: {sorted(MODEL_CONFIGS)}")
    base = MODEL_CONFIGS[name]
    return base.replace(**overrides) if overrides else base
