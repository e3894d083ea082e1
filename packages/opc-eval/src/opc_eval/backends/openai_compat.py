"""Any OpenAI-compatible server (``/v1/completions`` and ``/v1/chat/completions``), over urllib.

Works against ``opc serve``, vLLM's server, or a hosted API (``api_key`` from the config or
``$OPENAI_API_KEY``). Requests carry ``n``, ``temperature``, ``top_p``, ``max_tokens``, ``stop`` and ``seed``;
a server that ignores ``n`` is asked again until there are ``n`` answers. Errors name the URL and the
server's message. No retries on 4xx; 5xx and connection errors are retried a few times.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from typing import Any

from opc_core.errors import OpcError
from opc_eval.backends.base import Backend, GenParams


class OpenAIBackend(Backend):
    name = "openai"

    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout_s: float = 600.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY", "")
        self.timeout_s = timeout_s

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.base_url}{path}"
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = json.dumps(body).encode()
        for attempt in range(4):
            req = urllib.request.Request(url, data=data, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                    return json.loads(resp.read())
            except urllib.error.HTTPError as e:
                detail = e.read().decode("utf-8", "replace")[:500]
                if e.code < 500 or attempt == 3:
                    raise OpcError(f"server answered {e.code}: {detail}", where=url) from e
            except (urllib.error.URLError, ConnectionError, TimeoutError) as e:
                if attempt == 3:
                    raise OpcError(f"cannot reach the server: {e}", where=url,
                                   hint="is the server running (opc serve / vLLM)? check base_url") from e
            time.sleep(0.5 * 2**attempt)
        raise AssertionError("unreachable")

    def _body(self, params: GenParams, n: int) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "max_tokens": params.max_new_tokens, "temperature": params.temperature,
                                "top_p": params.top_p, "n": n, "seed": params.seed}
        if params.stop:
            body["stop"] = list(params.stop)[:4]  # the OpenAI API takes at most 4
        return body

    def _collect(self, path: str, payload: dict[str, Any], params: GenParams, key) -> list[str]:
        texts: list[str] = []
        while len(texts) < params.n:
            body = {**self._body(params, params.n - len(texts)), **payload}
            body["seed"] = params.seed + len(texts)
            choices = sorted(self._post(path, body).get("choices", []), key=lambda c: c.get("index", 0))
            if not choices:
                raise OpcError("server returned no choices", where=self.base_url + path)
            texts += [key(c) or "" for c in choices]
        return texts[: params.n]

    def complete(self, prompts: list[str], params: GenParams) -> list[list[str]]:
        return [self._collect("/completions", {"prompt": p}, params, lambda c: c.get("text")) for p in prompts]

    def chat(self, conversations: list[list[dict[str, str]]], params: GenParams) -> list[list[str]]:
        return [
            self._collect("/chat/completions", {"messages": c}, params, lambda ch: (ch.get("message") or {}).get("content"))
            for c in conversations
        ]
