"""``opc serve``: an OpenAI-compatible HTTP server over a local checkpoint (stdlib ``http.server``).

    opc serve --model work/pretrain/<key> --tokenizer work/tokenize/<key>/tokenizer --port 8000
    opc serve --hf release/model --port 8000          # any Hugging Face folder, through transformers

Endpoints: ``GET /health``, ``GET /v1/models``, ``POST /v1/completions`` (prompt: str or [str], n,
max_tokens, temperature, top_p, stop, seed) and ``POST /v1/chat/completions`` (messages rendered with
the ChatML template). Requests are served one at a time (one model in memory; a lock around
generation). It binds 127.0.0.1 by default and has no authentication: do not expose it.
Not implemented: streaming, logprobs, embeddings, batching.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Annotated, Any

import typer

from opc_eval.backends.base import Backend, GenParams


def _params(body: dict[str, Any]) -> GenParams:
    stop = body.get("stop") or ()
    if isinstance(stop, str):
        stop = (stop,)
    return GenParams(
        max_new_tokens=int(body.get("max_tokens") or 256),
        temperature=float(body.get("temperature") if body.get("temperature") is not None else 1.0),
        top_p=float(body.get("top_p") or 1.0),
        n=int(body.get("n") or 1),
        seed=int(body.get("seed") or 0),
        stop=tuple(stop),
    )


def make_server(backend: Backend, model_name: str, host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    """A ready (not yet serving) HTTP server; ``serve_forever()`` it, ``shutdown()`` to stop."""
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt: str, *args: Any) -> None:  # quiet by default
            pass

        def _send(self, code: int, obj: dict[str, Any]) -> None:
            data = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _error(self, code: int, message: str) -> None:
            self._send(code, {"error": {"message": message, "type": "invalid_request_error", "code": code}})

        def do_GET(self) -> None:  # noqa: N802 - http.server API
            if self.path.rstrip("/") == "/health":
                self._send(200, {"status": "ok"})
            elif self.path.rstrip("/") == "/v1/models":
                self._send(200, {"object": "list", "data": [{"id": model_name, "object": "model", "owned_by": "opc"}]})
            else:
                self._error(404, f"no route {self.path}")

        def do_POST(self) -> None:  # noqa: N802 - http.server API
            try:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
            except (ValueError, json.JSONDecodeError) as e:
                return self._error(400, f"body is not JSON: {e}")
            path = self.path.rstrip("/")
            try:
                params = _params(body)
                created = int(time.time())
                if path == "/v1/completions":
                    prompts = body.get("prompt", "")
                    prompts = [prompts] if isinstance(prompts, str) else list(prompts)
                    with lock:
                        outs = backend.complete(prompts, params)
                    choices = [{"index": i, "text": t, "finish_reason": "stop", "logprobs": None}
                               for i, t in enumerate(t for texts in outs for t in texts)]
                    return self._send(200, {"id": f"cmpl-{uuid.uuid4().hex}", "object": "text_completion",
                                            "created": created, "model": model_name, "choices": choices})
                if path == "/v1/chat/completions":
                    messages = body.get("messages")
                    if not isinstance(messages, list):
                        return self._error(400, "messages must be a list")
                    with lock:
                        outs = backend.chat([messages], params)[0]
                    choices = [{"index": i, "message": {"role": "assistant", "content": t}, "finish_reason": "stop"}
                               for i, t in enumerate(outs)]
                    return self._send(200, {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion",
                                            "created": created, "model": model_name, "choices": choices})
                return self._error(404, f"no route {self.path}")
            except (ValueError, TypeError, KeyError) as e:
                return self._error(400, str(e))
            except Exception as e:  # noqa: BLE001 - report, keep serving
                return self._error(500, f"{type(e).__name__}: {e}")

    return ThreadingHTTPServer((host, port), Handler)


def serve(
    model: Annotated[str | None, typer.Option(help="pretrain (or sft) output dir holding final/")] = None,
    tokenizer: Annotated[str | None, typer.Option(help="tokenizer dir (the tokenize output's tokenizer/)")] = None,
    hf: Annotated[str | None, typer.Option(help="serve a Hugging Face model folder instead")] = None,
    name: Annotated[str, typer.Option(help="model name reported by /v1/models")] = "opc-local",
    host: Annotated[str, typer.Option(help="bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port (0 = any free port)")] = 8000,
) -> None:
    """Serve a local checkpoint through an OpenAI-compatible HTTP API (completions and chat)."""
    import sys

    from opc_core.errors import OpcError
    from opc_eval.backends import make_backend

    if hf:
        backend = make_backend("hf", model_dir=hf)
    elif model and tokenizer:
        backend = make_backend("local", model_uri=model, tokenizer_uri=tokenizer)
    else:
        raise OpcError("nothing to serve", hint="give --model and --tokenizer, or --hf DIR")
    server = make_server(backend, name, host, port)
    # one machine-readable line on stdout so scripts and tests can find the port
    sys.stdout.write(json.dumps({"serving": f"http://{host}:{server.server_address[1]}/v1", "model": name}) + "\n")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
