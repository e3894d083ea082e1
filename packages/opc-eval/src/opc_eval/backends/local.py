"""The project's own model: ``opc_train.checkpoint.load_final`` + KV-cache ``generate``.

The pretrain output gives the weights (``final/``); the tokenize output gives ``tokenizer/``. A
completion prompt is encoded as ``[BOS] + ids(prompt)`` (how pretraining documents start), and
decoding stops at EOS (``<|im_end|>``), at ``max_new_tokens``, or when a stop string appears in the
decoded text (checked every few tokens). Chat prompts are rendered by ``render_chat`` and encoded
as they are (the rendering already opens with ``<|im_start|>``, exactly the ids SFT trained on; no
extra BOS). Torch is imported only when this backend is built.
"""

from __future__ import annotations

from opc_eval.backends.base import Backend, GenParams
from opc_eval.sanitize import truncate_at_stops


class LocalModelBackend(Backend):
    name = "local"

    def __init__(self, model_uri: str, tokenizer_uri: str) -> None:
        from opc_train.checkpoint import load_final
        from opc_train.tokenizer import load_tokenizer, special_ids

        self.model, self.config = load_final(model_uri)
        self.tok = load_tokenizer(tokenizer_uri)
        ids = special_ids(self.tok)
        self.bos = ids.get("bos")
        self.eos = ids.get("eos")

    def _one(self, prompt: str, params: GenParams, seed: int, add_bos: bool = True) -> str:
        from opc_train.generation import generate

        prompt_ids = ([self.bos] if add_bos and self.bos is not None else []) + self.tok.encode(
            prompt, add_special_tokens=False).ids
        stops = (self.eos,) if self.eos is not None else ()
        out = generate(self.model, prompt_ids, params.max_new_tokens, temperature=params.temperature,
                       top_p=params.top_p, stop_ids=stops, seed=seed)
        if out and self.eos is not None and out[-1] == self.eos:
            out = out[:-1]
        return truncate_at_stops(self.tok.decode(out, skip_special_tokens=True), params.stop)

    def complete(self, prompts: list[str], params: GenParams) -> list[list[str]]:
        return [[self._one(p, params, params.seed + j) for j in range(params.n)] for p in prompts]

    def chat(self, conversations: list[list[dict[str, str]]], params: GenParams) -> list[list[str]]:
        from opc_core.chat_template import render_chat

        prompts = [render_chat(c, add_generation_prompt=True) for c in conversations]
        return [[self._one(p, params, params.seed + j, add_bos=False) for j in range(params.n)] for p in prompts]
