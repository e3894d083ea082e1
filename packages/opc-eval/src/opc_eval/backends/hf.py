"""Any local Hugging Face model folder (our release output included) through ``transformers``.

Offline only (``HF_HUB_OFFLINE=1``): the folder must hold config, weights and tokenizer. Greedy when
temperature is 0, else sampling with ``top_p``; seeded per sample for reproducibility. Chat prompts use
the tokenizer's ``chat_template`` when it has one, else our ChatML renderer.
"""

from __future__ import annotations

import os

from opc_eval.backends.base import Backend, GenParams
from opc_eval.sanitize import truncate_at_stops


class HFBackend(Backend):
    name = "hf"

    def __init__(self, model_dir: str, dtype: str = "float32") -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        self.tok = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=getattr(torch, dtype))
        self.model.eval()

    def complete(self, prompts: list[str], params: GenParams) -> list[list[str]]:
        torch = self.torch
        out: list[list[str]] = []
        for prompt in prompts:
            enc = self.tok(prompt, return_tensors="pt", add_special_tokens=True)
            texts = []
            for j in range(params.n):
                torch.manual_seed(params.seed + j)
                kwargs = {"do_sample": params.temperature > 0, "max_new_tokens": params.max_new_tokens}
                if params.temperature > 0:
                    kwargs.update(temperature=params.temperature, top_p=params.top_p)
                with torch.no_grad():
                    ids = self.model.generate(**enc, **kwargs, pad_token_id=self.tok.pad_token_id or self.tok.eos_token_id)
                new = ids[0, enc["input_ids"].shape[1]:]
                texts.append(truncate_at_stops(self.tok.decode(new, skip_special_tokens=True), params.stop))
            out.append(texts)
        return out

    def chat(self, conversations: list[list[dict[str, str]]], params: GenParams) -> list[list[str]]:
        if getattr(self.tok, "chat_template", None):
            prompts = [self.tok.apply_chat_template(c, tokenize=False, add_generation_prompt=True) for c in conversations]
            return self.complete(prompts, params)
        return super().chat(conversations, params)
