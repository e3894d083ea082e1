"""Generation backends behind one interface (see ``base.py``): local model, transformers, OpenAI-compatible, vLLM."""

from __future__ import annotations

from opc_eval.backends.base import Backend, GenParams

__all__ = ["Backend", "GenParams", "make_backend"]


def make_backend(kind: str, **kw) -> Backend:
    """Build a backend by name; heavy imports happen only here."""
    if kind == "local":
        from opc_eval.backends.local import LocalModelBackend

        return LocalModelBackend(kw["model_uri"], kw["tokenizer_uri"])
    if kind == "hf":
        from opc_eval.backends.hf import HFBackend

        return HFBackend(kw["model_dir"], dtype=kw.get("dtype") or "float32")
    if kind == "openai":
        from opc_eval.backends.openai_compat import OpenAIBackend

        return OpenAIBackend(kw["base_url"], kw["model"], api_key=kw.get("api_key"))
    if kind == "vllm":
        from opc_eval.backends.vllm import VLLMBackend

        return VLLMBackend(kw["model_dir"])
    from opc_core.errors import OpcError

    raise OpcError(f"unknown backend {kind!r}", hint="use one of: local, hf, openai, vllm")
