"""Our decoder and transformers' LlamaForCausalLM are the same function: the release stage depends on it."""

from __future__ import annotations

import pytest
import torch

from opc_train.model import ModelConfig, Transformer
from opc_train.model_configs import MODEL_CONFIGS, get_model_config


def _hf_model(config: ModelConfig):
    from transformers import LlamaConfig, LlamaForCausalLM

    hf_config = LlamaConfig(**{k: v for k, v in config.to_hf_config().items() if k not in ("architectures", "model_type")})
    hf_config._attn_implementation = "eager"  # the plain reference implementation, not SDPA
    return LlamaForCausalLM(hf_config).eval()


@pytest.mark.parametrize(
    "config",
    [
        ModelConfig(vocab_size=320, dim=64, n_layers=2, n_heads=4, n_kv_heads=2, ffn_dim=160, max_seq_len=64),
        # OpenCoder-1.5B's attention shape (head dim 160, MHA) and 8B's (GQA 4:1, theta 5e5), scaled down.
        ModelConfig(vocab_size=256, dim=320, n_layers=2, n_heads=2, n_kv_heads=2, ffn_dim=96, max_seq_len=32),
        ModelConfig(vocab_size=256, dim=128, n_layers=2, n_heads=8, n_kv_heads=2, ffn_dim=96, max_seq_len=32,
                    rope_theta=500_000.0),
    ],
    ids=["gqa", "head-dim-160", "theta-5e5"],
)
def test_our_weights_load_into_llama_for_causal_lm_with_same_logits(config: ModelConfig) -> None:
    torch.manual_seed(0)
    ours = Transformer(config).eval()
    hf = _hf_model(config)
    ours_sd = ours.state_dict()
    hf_keys = set(hf.state_dict())
    assert set(ours_sd) == hf_keys, (set(ours_sd) ^ hf_keys)
    missing, unexpected = hf.load_state_dict(ours_sd, strict=True)
    assert not missing and not unexpected
    idx = torch.randint(0, config.vocab_size, (2, config.max_seq_len))
    with torch.no_grad():
        ours_logits = ours(idx)
        hf_logits = hf(input_ids=idx).logits
    assert ours_logits.shape == hf_logits.shape
    assert (ours_logits - hf_logits).abs().max().item() <= 1e-4


def test_hf_weights_load_into_ours() -> None:
    config = ModelConfig(vocab_size=128, dim=64, n_layers=1, n_heads=4, n_kv_heads=4, ffn_dim=96, max_seq_len=16)
    torch.manual_seed(1)
    hf = _hf_model(config)
    ours = Transformer(config).eval()
    ours.load_state_dict(hf.state_dict(), strict=True)
    idx = torch.randint(0, 128, (1, 16))
    with torch.no_grad():
        assert (ours(idx) - hf(input_ids=idx).logits).abs().max().item() <= 1e-4


def test_named_configs_are_the_papers_shapes() -> None:
    c15 = MODEL_CONFIGS["opencoder-1.5b"]
    assert (c15.n_layers, c15.dim, c15.ffn_dim, c15.n_heads, c15.n_kv_heads, c15.head_dim) == (24, 2240, 6144, 14, 14, 160)
    assert (c15.max_seq_len, c15.rope_theta, c15.vocab_size) == (4096, 10_000.0, 96_640)
    c8 = MODEL_CONFIGS["opencoder-8b"]
    assert (c8.n_layers, c8.dim, c8.ffn_dim, c8.n_heads, c8.n_kv_heads) == (32, 4096, 14336, 32, 8)
    assert (c8.max_seq_len, c8.rope_theta, c8.vocab_size) == (8192, 500_000.0, 96_640)
    assert c8.norm_eps == c15.norm_eps == 1e-5
    assert get_model_config("tiny", vocab_size=500).vocab_size == 500
    assert 1.8e9 < c15.num_params() < 2.0e9 and 7.5e9 < c8.num_params() < 8.0e9


def test_fused_training_path_gives_the_same_loss_and_gradients_as_the_plain_one() -> None:
    """Fused QKV / gate-up matmuls and the chunked lm_head + cross-entropy are the same function."""
    config = ModelConfig(vocab_size=300, dim=64, n_layers=2, n_heads=4, n_kv_heads=2, ffn_dim=96, max_seq_len=32)
    torch.manual_seed(0)
    model = Transformer(config)
    model.loss_chunk = 40  # several chunks, the last one partial
    idx = torch.randint(0, 300, (3, 32))
    targets = torch.randint(0, 300, (3, 32))
    targets[0, :5] = -100  # ignored positions
    results = []
    for fused in (True, False):
        model.set_fused_kernels(fused)
        model.zero_grad(set_to_none=True)
        loss = model.loss(idx, targets)
        (loss * 0.37).backward()
        results.append((loss.item(), {n: p.grad.clone() for n, p in model.named_parameters()}))
    (fused_loss, fused_grads), (plain_loss, plain_grads) = results
    assert abs(fused_loss - plain_loss) <= 1e-5 * plain_loss
    assert max((fused_grads[n] - plain_grads[n]).abs().max().item() for n in plain_grads) <= 1e-5
    with torch.no_grad():
        reference = torch.nn.functional.cross_entropy(model(idx).view(-1, 300), targets.view(-1), reduction="sum")
    assert abs(reference.item() - plain_loss) <= 1e-5 * plain_loss
