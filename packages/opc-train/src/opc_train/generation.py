"""Token generation with a KV cache: the decoding loop eval and synth call on our own model.

    prompt ─▶ one prefill forward (fills the cache) ─▶ loop: sample 1 token ─▶ 1-token forward at pos p

Greedy when ``temperature == 0``; otherwise temperature + nucleus (top-p) sampling from a private
``torch.Generator`` seeded by ``seed``, so a seeded call is reproducible and never touches the global
RNG. Not here: batching of many prompts, beam search, text (token ids in, token ids out).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch

from opc_train.model import KVCache, Transformer


def _sample(logits: torch.Tensor, temperature: float, top_p: float, gen: torch.Generator | None) -> int:
    if temperature <= 0.0:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    if top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True)
        cumulative = torch.cumsum(sorted_probs, dim=-1)
        keep = cumulative - sorted_probs < top_p  # the smallest prefix whose mass reaches top_p (>= 1 token)
        sorted_probs = torch.where(keep, sorted_probs, torch.zeros_like(sorted_probs))
        choice = torch.multinomial(sorted_probs / sorted_probs.sum(), 1, generator=gen)
        return int(order[choice])
    return int(torch.multinomial(probs, 1, generator=gen))


@torch.no_grad()
def generate(
    model: Transformer,
    prompt_ids: Sequence[int],
    max_new_tokens: int,
    temperature: float = 0.0,
    top_p: float = 1.0,
    stop_ids: Iterable[int] = (),
    seed: int | None = None,
) -> list[int]:
    """The new token ids (not the prompt). A stop id ends generation and is included as the last id.

    A prompt longer than the model's context keeps its last tokens; generation also ends when the
    context is full.
    """
    if not prompt_ids:
        raise ValueError("generate needs at least one prompt token (e.g. the BOS id)")
    config = model.config
    stops = set(stop_ids)
    prompt = list(prompt_ids)[-config.max_seq_len :]
    total = min(len(prompt) + max_new_tokens, config.max_seq_len)
    param = next(model.parameters())
    cache = KVCache(config, batch_size=1, max_len=total, device=param.device, dtype=param.dtype)
    gen = None
    if temperature > 0.0:
        gen = torch.Generator(device=param.device)
        gen.manual_seed(seed if seed is not None else torch.seed())
    was_training = model.training
    model.eval()
    try:
        logits = model(torch.tensor([prompt], device=param.device), kv_cache=cache, start_pos=0)[0, -1]
        out: list[int] = []
        pos = len(prompt)
        while len(out) < max_new_tokens:
            token = _sample(logits, temperature, top_p, gen)
            out.append(token)
            if token in stops or pos >= total:
                break
            logits = model(torch.tensor([[token]], device=param.device), kv_cache=cache, start_pos=pos)[0, -1]
            pos += 1
        return out
    finally:
        model.train(was_training)
