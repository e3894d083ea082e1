"""Any OpenAI-compatible server (``/v1/completions`` and ``/v1/chat/completions``), over urllib.

Works against ``opc serve``, vLLM's server, or a hosted API. ``base_url`` defaults to
``$OPENAI_BASE_URL`` and ``api_key`` to ``$OPENAI_API_KEY``. Requests carry ``n``, ``temperature``,
``top_p``, ``max_tokens``, ``stop`` and ``seed``; a server that ignores ``n`` is asked again until there
are ``n`` answers.

Client behaviour a hosted API needs (used by eval and by the synth teacher):
- **concurrency**: a list of prompts is sent by at most ``max_concurrency`` threads at once; results
  keep the prompts' order.
- **retries with backoff**: connection errors, timeouts, 408/409 and 5xx are retried up to
  ``max_retries`` times, waiting ``backoff_s * 2**attempt`` (capped at ``max_backoff_s``) plus jitter.
- **rate limits**: a 429 is retried like a 5xx, but waits the server's ``Retry-After`` (seconds) when
  it sends one; every thread then pauses until that moment, so the whole client slows down.
- **request timeout**: ``timeout_s`` per HTTP request.
Other 4xx are not retried. Errors name the URL and the server's message. It does NOT cache (the synth
stage's response cache sits above it) and does not stream.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from opc_core.errors import OpcError
from opc_eval.backends.base import Backend, GenParams

RETRIED_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


class OpenAIBackend(Backend):
    name = "openai"

    def __init__(
        self,
        base_url: str | None,
        model: str,
        api_key: str | None = None,
        timeout_s: float = 600.0,
        max_concurrency: int = 8,
        max_retries: int = 3,
        backoff_s: float = 0.5,
        max_backoff_s: float = 60.0,
    ) -> None:
        base_url = base_url or os.environ.get("OPENAI_BASE_URL")
        if not base_url:
            raise OpcError("no server URL for the openai backend", hint="set base_url or $OPENAI_BASE_URL")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY", "")
        self.timeout_s = timeout_s
        self.max_concurrency = max(1, int(max_concurrency))
        self.max_retries = max(0, int(max_retries))
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self._pause_until = 0.0  # a 429's Retry-After holds every thread until then
        self._pause_lock = threading.Lock()
        self.stats = {"requests": 0, "retries": 0, "rate_limited": 0}

    def _count(self, what: str) -> None:
        with self._pause_lock:
            self.stats[what] += 1

    def _wait_for_pause(self) -> None:
        with self._pause_lock:
            until = self._pause_until
        delay = until - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_backoff_s)
        base = min(self.backoff_s * 2**attempt, self.max_backoff_s)
        return base * (0.5 + random.random() / 2)  # jitter: timing only, never the results

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.base_url}{path}"
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = json.dumps(body).encode()
        for attempt in range(self.max_retries + 1):
            self._wait_for_pause()
            req = urllib.request.Request(url, data=data, headers=headers, method="POST")
            retry_after: float | None = None
            try:
                self._count("requests")
                with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                    return json.loads(resp.read())
            except urllib.error.HTTPError as e:
                detail = e.read().decode("utf-8", "replace")[:500]
                if e.code not in RETRIED_STATUS or attempt == self.max_retries:
                    raise OpcError(f"server answered {e.code}: {detail}", where=url,
                                   hint="429: lower max_concurrency" if e.code == 429 else None) from e
                if e.code == 429:
                    self._count("rate_limited")
                    retry_after = _retry_after(e.headers.get("Retry-After"))
                    if retry_after is not None:
                        with self._pause_lock:
                            self._pause_until = max(self._pause_until, time.monotonic() + retry_after)
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as e:
                if attempt == self.max_retries:
                    raise OpcError(f"cannot reach the server: {e}", where=url,
                                   hint="is the server running (opc serve / vLLM)? check base_url") from e
            except json.JSONDecodeError as e:
                raise OpcError(f"server answer is not JSON: {e}", where=url) from e
            self._count("retries")
            time.sleep(self._backoff(attempt, retry_after))
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

    def _map(self, fn: Callable[[Any], list[str]], items: list[Any]) -> list[list[str]]:
        """``fn`` over ``items`` with at most ``max_concurrency`` requests in flight; input order kept."""
        if len(items) <= 1 or self.max_concurrency == 1:
            return [fn(x) for x in items]
        with ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(items)),
                                thread_name_prefix="opc-openai") as ex:
            return list(ex.map(fn, items))

    def complete(self, prompts: list[str], params: GenParams) -> list[list[str]]:
        return self._map(lambda p: self._collect("/completions", {"prompt": p}, params, lambda c: c.get("text")),
                         prompts)

    def chat(self, conversations: list[list[dict[str, str]]], params: GenParams) -> list[list[str]]:
        return self._map(
            lambda c: self._collect("/chat/completions", {"messages": c}, params,
                                    lambda ch: (ch.get("message") or {}).get("content")),
            conversations,
        )


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (the HTTP-date form is rare for APIs and is treated as absent)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
