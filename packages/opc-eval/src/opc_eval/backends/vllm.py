"""vLLM, in its own virtualenv (``opc_eval.vllm_env``), driven through its OpenAI-compatible server
(``opc_eval.vllm_server``): this backend starts the server for a Hugging Face model folder and then
is exactly the OpenAI backend. It never imports vllm.
"""

from __future__ import annotations

from opc_eval.backends.openai_compat import OpenAIBackend


class VLLMBackend(OpenAIBackend):
    name = "vllm"

    def __init__(self, model_dir: str, kv_cache_gib: float = 1.0, startup_timeout_s: float = 900.0, **client) -> None:
        from opc_eval.vllm_env import ensure_vllm_env
        from opc_eval.vllm_server import VLLMServer

        env = ensure_vllm_env()
        self.server = VLLMServer.start(model_dir, env=env, kv_cache_gib=kv_cache_gib, startup_timeout=startup_timeout_s)
        super().__init__(self.server.base_url, self.server.model, **client)  # concurrency, retries, timeout

    def close(self) -> None:
        self.server.stop()
