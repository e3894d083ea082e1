"""The OpenAI-compatible client over real HTTP on loopback: concurrency limit, 429 handling, errors; and
the responses backend (answers produced elsewhere, incl. an OpenAI batch job's files)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from opc_core.errors import OpcError
from opc_eval.backends import GenParams, make_backend


def _server(port: int, handle):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            code, headers, payload = handle(body)
            data = json.dumps(payload).encode()
            self.send_response(code)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _answer(text: str) -> dict:
    return {"choices": [{"index": 0, "message": {"content": text}}]}


def test_concurrency_limit_bounds_requests_in_flight_and_keeps_order(loopback_port):
    state = {"now": 0, "peak": 0}
    lock = threading.Lock()

    def handle(body):
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        return 200, {}, _answer(body["messages"][0]["content"].upper())

    server = _server(loopback_port, handle)
    try:
        client = make_backend("openai", base_url=f"http://127.0.0.1:{loopback_port}/v1", model="m", max_concurrency=4)
        convs = [[{"role": "user", "content": f"q{i}"}] for i in range(16)]
        assert client.chat(convs, GenParams()) == [[f"Q{i}"] for i in range(16)]
        assert 2 <= state["peak"] <= 4
    finally:
        server.shutdown()
        server.server_close()


def test_rate_limited_requests_wait_for_retry_after_and_succeed(loopback_port):
    hits: list[float] = []

    def handle(body):
        hits.append(time.monotonic())
        if len(hits) <= 2:
            return 429, {"Retry-After": "0.3"}, {"error": {"message": "slow down"}}
        return 200, {}, _answer("ok")

    server = _server(loopback_port, handle)
    url = f"http://127.0.0.1:{loopback_port}/v1"
    try:
        b = make_backend("openai", base_url=url, model="m", max_retries=3)
        assert b.chat([[{"role": "user", "content": "hi"}]], GenParams()) == [["ok"]]
        assert b.stats["rate_limited"] == 2 and hits[1] - hits[0] >= 0.29 and hits[2] - hits[1] >= 0.29
        hits.clear()
        with pytest.raises(OpcError, match="429"):
            make_backend("openai", base_url=url, model="m", max_retries=0).chat([[{"role": "user", "content": "x"}]],
                                                                                GenParams())
    finally:
        server.shutdown()
        server.server_close()


def test_a_client_error_is_not_retried_and_names_the_url(loopback_port):
    hits = []

    def handle(body):
        hits.append(1)
        return 400, {}, {"error": {"message": "bad model"}}

    server = _server(loopback_port, handle)
    try:
        b = make_backend("openai", base_url=f"http://127.0.0.1:{loopback_port}/v1", model="m", max_retries=5)
        with pytest.raises(OpcError, match="400.*bad model"):
            b.complete(["x"], GenParams())
        assert len(hits) == 1
    finally:
        server.shutdown()
        server.server_close()


def test_base_url_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1/")
    assert make_backend("openai", model="m").base_url == "http://127.0.0.1:9/v1"
    monkeypatch.delenv("OPENAI_BASE_URL")
    with pytest.raises(OpcError, match="OPENAI_BASE_URL"):
        make_backend("openai", model="m")


def test_responses_backend_reads_pairs_and_batch_files(tmp_path):
    conv = [{"role": "user", "content": "hello"}]
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(json.dumps({"prompt": "def f():", "responses": ["a", "b"]}) + "\n"
                     + json.dumps({"messages": conv, "response": "hi"}) + "\n")
    b = make_backend("responses", path=str(pairs))
    assert b.complete(["def f():", "unknown"], GenParams(n=2)) == [["a", "b"], []]
    assert b.chat([conv], GenParams()) == [["hi"]] and b.stats["missing"] == 1
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    inp.write_text(json.dumps({"custom_id": "1", "body": {"messages": conv}}) + "\n"
                   + json.dumps({"custom_id": "2", "body": {"prompt": "p"}}) + "\n")
    out.write_text(json.dumps({"custom_id": "1", "response": {"status_code": 200, "body": _answer("yo")}}) + "\n"
                   + json.dumps({"custom_id": "2", "response": {"status_code": 500, "body": {}}}) + "\n")
    batch = make_backend("responses", path=str(out), requests=str(inp))
    assert batch.chat([conv], GenParams()) == [["yo"]] and batch.complete(["p"], GenParams()) == [[]]
    assert batch.stats["failed_rows"] == 1
    with pytest.raises(OpcError, match="line 1"):
        (tmp_path / "bad.jsonl").write_text('{"nothing": 1}\n')
        make_backend("responses", path=str(tmp_path / "bad.jsonl"))
    strict = make_backend("responses", path=str(pairs), missing="error")
    with pytest.raises(OpcError, match="no stored response"):
        strict.complete(["unknown"], GenParams())
