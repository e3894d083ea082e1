"""Fixtures every test may use: the shared test data and a real S3-compatible server on loopback.

Slow, shared services start once per test session (S3 here; Spark in packages/opc-data/tests/conftest.py;
Prefect in tests/conftest.py).
"""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("OPC_SHARED_DIR", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` beside the checkout (test data only; the product never reads it)."""
    if not (SHARED / "data").is_dir():
        pytest.fail(f"test data not found at {SHARED}; set OPC_SHARED_DIR to the shared/ folder")
    return SHARED


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server():
    """A real S3-compatible server (moto in server mode) on 127.0.0.1; yields its endpoint URL.

    Credentials are fake but go through the same environment variables a user sets for real S3.
    """
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{server._port}"
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION",
                                             "AWS_ENDPOINT_URL", "OPC_S3_ENDPOINT_URL")}
    os.environ.update({
        "AWS_ACCESS_KEY_ID": "opc-test-key-id",
        "AWS_SECRET_ACCESS_KEY": "opc-test-secret-DO-NOT-LOG",
        "AWS_DEFAULT_REGION": "us-east-1",
        "OPC_S3_ENDPOINT_URL": endpoint,
    })
    os.environ.pop("AWS_ENDPOINT_URL", None)
    try:
        yield endpoint
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture
def s3_bucket(s3_server) -> str:
    """A fresh bucket for one test; yields ``s3://<bucket>``."""
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
    fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": s3_server})
    name = f"opc-test-{uuid.uuid4().hex[:10]}"
    fs.mkdir(name)
    return f"s3://{name}"
