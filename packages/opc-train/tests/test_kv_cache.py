"""Incremental decoding with the KV cache gives the logits of a full forward pass (eval and synth rely on it)."""

from __future__ import annotations

import torch

from opc_train.generation import generate
from opc_train.model import KVCache, ModelConfig, Transformer

CONFIG = ModelConfig(vocab_size=97, dim=64, n_layers=2, n_heads=4, n_kv_heads=2, ffn_dim=128, max_seq_len=48)


def _model() -> Transformer:
    torch.manual_seed(3)
    return Transformer(CONFIG).eval()


def test_token_by_token_decoding_matches_full_sequence_logits() -> None:
    model = _model()
    idx = torch.randint(0, CONFIG.vocab_size, (2, 40))
    with torch.no_grad():
        full = model(idx)
        cache = KVCache(CONFIG, batch_size=2, max_len=40)
        steps = [model(idx[:, p : p + 1], kv_cache=cache, start_pos=p) for p in range(40)]
    incremental = torch.cat(steps, dim=1)
    assert (incremental - full).abs().max().item() <= 1e-4


def test_chunked_prefill_then_decode_matches_full_sequence_logits() -> None:
    model = _model()
    idx = torch.randint(0, CONFIG.vocab_size, (1, 30))
    with torch.no_grad():
        full = model(idx)
        cache = KVCache(CONFIG, batch_size=1, max_len=30)
        a = model(idx[:, :10], kv_cache=cache, start_pos=0)
        b = model(idx[:, 10:25], kv_cache=cache, start_pos=10)  # a multi-token chunk after a prefix
        c = torch.cat([model(idx[:, p : p + 1], kv_cache=cache, start_pos=p) for p in range(25, 30)], dim=1)
    assert (torch.cat([a, b, c], dim=1) - full).abs().max().item() <= 1e-4


def test_greedy_generate_equals_argmax_of_full_forward_each_step() -> None:
    model = _model()
    prompt = [5, 17, 42, 8]
    out = generate(model, prompt, max_new_tokens=12)
    seq = list(prompt)
    with torch.no_grad():
        for _ in range(12):
            seq.append(int(model(torch.tensor([seq]))[0, -1].argmax()))
    assert out == seq[len(prompt) :]


def test_generate_stops_at_stop_id_and_sampling_is_seeded() -> None:
    model = _model()
    greedy = generate(model, [1, 2, 3], max_new_tokens=10)
    stop = greedy[3]
    stopped = generate(model, [1, 2, 3], max_new_tokens=10, stop_ids=(stop,))
    assert stopped == greedy[: greedy.index(stop) + 1]
    a = generate(model, [1, 2, 3], max_new_tokens=10, temperature=1.0, top_p=0.9, seed=7)
    b = generate(model, [1, 2, 3], max_new_tokens=10, temperature=1.0, top_p=0.9, seed=7)
    assert a == b and len(a) == 10 and all(0 <= t < CONFIG.vocab_size for t in a)
