"""The teacher: an opc_eval generation backend behind the response cache.

    conversations ─▶ key = hash(backend, model, messages, params) ─▶ cache hit?  ─▶ answer
                                                                  └▶ miss: backend.chat (at most
                                                                     ``concurrency`` in flight) ─▶ cache.put

Backends are opc_eval's (``opc_eval.backends.make_backend``): our own model (``local``: the pretrain
checkpoint + the tokenize stage's tokenizer), ``hf``, ``vllm`` (its own venv, through its server),
``openai`` (any OpenAI-compatible endpoint, with concurrency / retries / rate limits / timeout) and
``responses`` (answers produced elsewhere). The backend is built only when some request misses the
cache, so a fully cached rerun loads no model and opens no connection. The ``model`` part of the key
is what identifies the weights: the pretrain output's fingerprint for ``local``, the served model name
for ``openai``, the file's sha256 for ``responses``.

Sampling: greedy by default; with a temperature each request gets its own seed, derived from the
recipe seed and the request id, so answers do not depend on the order or concurrency of requests.
"""

from __future__ import annotations

import hashlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from opc_core.errors import OpcError
from opc_core.stage import StageContext
from opc_synth.config import TeacherConfig
from opc_synth.response_cache import NoCache, ResponseCache, cache_path, request_key


@dataclass(frozen=True)
class Request:
    id: str  # stable: generator/seed index
    messages: tuple[tuple[str, str], ...]

    def as_messages(self) -> list[dict[str, str]]:
        return [{"role": r, "content": c} for r, c in self.messages]


def file_sha256(path: str | None) -> str:
    if not path:
        return ""
    if not os.path.isfile(path):
        raise OpcError("teacher file not found", where=path, hint="fix stages.synth.teacher.responses_path/requests_path")
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def teacher_inputs(cfg: TeacherConfig) -> dict[str, str]:
    if cfg.kind == "local":
        return {"model": cfg.model_stage, "tokens": cfg.tokens_stage}
    if cfg.kind in ("hf", "vllm") and not cfg.model_dir:
        return {"model": cfg.model_stage}
    return {}


class Teacher:
    def __init__(self, cfg: TeacherConfig, ctx: StageContext) -> None:
        self.cfg = cfg
        self.ctx = ctx
        self.kind = cfg.kind
        self.model_id = self._model_id()
        self.name = f"{self.kind}:{self.model_id[:16] if self.kind in ('local', 'responses') else self.model_id}"
        self.cache = ResponseCache(cache_path(ctx.workdir)) if cfg.cache else NoCache()
        self._backend = None
        self._lock = threading.Lock()
        self.stats = {"requests": 0, "cache_hits": 0, "sent": 0}

    def _model_id(self) -> str:
        c, ctx = self.cfg, self.ctx
        if c.kind == "local":
            return f"{ctx.inputs['model'].fingerprint}+{ctx.inputs['tokens'].fingerprint}"
        if c.kind in ("hf", "vllm"):
            return c.model_dir or ctx.inputs["model"].fingerprint
        if c.kind == "openai":
            return str(c.model)
        return file_sha256(c.responses_path) + file_sha256(c.requests_path)

    def backend(self):
        with self._lock:
            if self._backend is None:
                from opc_eval.backends import make_backend

                c, ctx = self.cfg, self.ctx
                client = dict(max_concurrency=c.max_concurrency, max_retries=c.max_retries, timeout_s=c.timeout_s)
                if c.kind == "local":
                    self._backend = make_backend("local", model_uri=ctx.input_uri("model"),
                                                 tokenizer_uri=ctx.input_artifact("tokens", "tokenizer"))
                elif c.kind == "hf":
                    self._backend = make_backend("hf", model_dir=c.model_dir or ctx.input_artifact("model"))
                elif c.kind == "vllm":
                    self._backend = make_backend("vllm", model_dir=c.model_dir or ctx.input_artifact("model"), **client)
                elif c.kind == "openai":
                    self._backend = make_backend("openai", base_url=c.base_url, model=c.model,
                                                 api_key=os.environ.get(c.api_key_env), **client)
                else:
                    self._backend = make_backend("responses", path=c.responses_path, requests=c.requests_path)
            return self._backend

    def _params(self, request_id: str):
        from opc_eval.backends import GenParams

        c = self.cfg
        seed = 0
        if c.temperature > 0:
            seed = int.from_bytes(hashlib.sha256(f"{self.ctx.seed}:{request_id}".encode()).digest()[:4], "big")
        return GenParams(max_new_tokens=c.max_new_tokens, temperature=c.temperature, top_p=c.top_p, n=1, seed=seed)

    def answer(self, requests: list[Request], on_done=None) -> list[str | None]:
        """One answer per request (None: the backend gave none); cached answers are never re-sent."""
        out: list[str | None] = [None] * len(requests)
        todo: list[tuple[int, str, Any]] = []
        for i, req in enumerate(requests):
            params = self._params(req.id)
            key = request_key(self.kind, self.model_id, req.as_messages(), params.__dict__ | {"stop": list(params.stop)})
            self.stats["requests"] += 1
            hit = self.cache.get(key)
            if hit is not None:
                self.stats["cache_hits"] += 1
                out[i] = hit[0] if hit else None
                if on_done:
                    on_done()
            else:
                todo.append((i, key, params))

        def one(item: tuple[int, str, Any]) -> None:
            i, key, params = item
            texts = self.backend().chat([requests[i].as_messages()], params)[0]
            if texts or self.kind != "responses":  # a missing stored answer is not cached: the file may grow
                self.cache.put(key, self.kind, self.model_id, list(texts))
            out[i] = texts[0] if texts else None
            with self._lock:
                self.stats["sent"] += 1
            if on_done:
                on_done()

        if todo:
            workers = self.cfg.max_concurrency if self.kind in ("openai", "vllm") else 1
            if workers == 1:
                for item in todo:
                    one(item)
            else:
                with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="opc-teacher") as ex:
                    list(ex.map(one, todo))
        return out

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
        self.cache.close()
