"""Generation backends behind one interface (see ``base.py``): local model, transformers, OpenAI-compatible,
vLLM, and a responses file (answers generated elsewhere). Used by eval and by the synth teacher."""

from __future__ import annotations

from opc_eval.backends.base import Backend, GenParams

__all__ = ["CLIENT_OPTIONS", "Backend", "GenParams", "make_backend"]

# HTTP client settings of the openai and vllm backends (see openai_compat.py)
CLIENT_OPTIONS = ("timeout_s", "max_concurrency", "max_retries", "backoff_s", "max_backoff_s")


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

        client = {k: kw[k] for k in CLIENT_OPTIONS if kw.get(k) is not None}
        return OpenAIBackend(kw.get("base_url"), kw["model"], api_key=kw.get("api_key"), **client)
    if kind == "vllm":
        from opc_eval.backends.vllm import VLLMBackend

        client = {k: kw[k] for k in CLIENT_OPTIONS if kw.get(k) is not None}
        return VLLMBackend(kw["model_dir"], **client)
    if kind == "responses":
        from opc_eval.backends.responses import ResponsesBackend

        return ResponsesBackend(kw["path"], requests=kw.get("requests"), missing=kw.get("missing") or "empty")
    from opc_core.errors import OpcError

    raise OpcError(f"unknown backend {kind!r}", hint="use one of: local, hf, openai, vllm, responses")
