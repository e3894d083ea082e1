"""hf:// publishing failures a person can act on: an unreachable Hub and a rejected token each end with one
line naming the destination, what failed and what to set (the real ``huggingface_hub`` client against
servers on loopback: a closed port, and an HTTP server that answers 401 like the Hub does)."""

from __future__ import annotations

import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from opc_core.remote_errors import RemoteStorageError
from opc_release.publish import publish


@pytest.fixture
def release_dir(released, tmp_path):
    _, _, model_dir = released
    return shutil.copytree(model_dir, tmp_path / "model")


class _Unauthorized(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        body = b'{"error": "Invalid credentials in Authorization header"}'
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def do_HEAD(self):  # noqa: N802
        self.send_response(401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def _hub_env(monkeypatch, endpoint: str) -> None:
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.setenv("HF_TOKEN", "hf_not_a_real_token")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)  # read at import time


def test_offline_mode_says_to_unset_it(release_dir, monkeypatch, loopback_port):
    _hub_env(monkeypatch, f"http://127.0.0.1:{loopback_port}")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    with pytest.raises(RemoteStorageError, match="hf://opc-org/opc-micro: .*offline.*unset HF_HUB_OFFLINE"):
        publish(release_dir, "hf://opc-org/opc-micro")


def test_unreachable_hub_names_the_destination_and_the_endpoint(release_dir, monkeypatch, loopback_port):
    endpoint = f"http://127.0.0.1:{loopback_port}"
    _hub_env(monkeypatch, endpoint)
    with pytest.raises(RemoteStorageError) as err:
        publish(release_dir, "hf://opc-org/opc-micro")
    line = str(err.value)
    assert "\n" not in line and "hf://opc-org/opc-micro" in line and endpoint in line and "HF_ENDPOINT" in line


def test_rejected_token_says_to_set_hf_token(release_dir, monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Unauthorized)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        _hub_env(monkeypatch, f"http://127.0.0.1:{server.server_address[1]}")
        with pytest.raises(RemoteStorageError) as err:
            publish(release_dir, "hf://opc-org/opc-micro")
    finally:
        server.shutdown()
    line = str(err.value)
    assert "\n" not in line and "hf://opc-org/opc-micro" in line and "401" in line and "HF_TOKEN" in line
