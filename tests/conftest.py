"""Integration-test fixtures: Prefect settings for the whole session (one ephemeral API per session)."""

from __future__ import annotations

import os
import tempfile

import pytest

_PREFECT_HOME = tempfile.mkdtemp(prefix="opc-prefect-home-")
# Prefect reads its settings at import time: set them before any test imports it.
os.environ.setdefault("PREFECT_HOME", _PREFECT_HOME)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.pop("PREFECT_API_URL", None)


@pytest.fixture(scope="session")
def prefect_home() -> str:
    return os.environ["PREFECT_HOME"]
