"""Fixtures of the recall package: real labelled web pages from ``../shared/data/web/dev.jsonl.gz``.

Spark tests reuse one local session per test session (``local[2]``, loopback only), as opc-data's do.
"""

from __future__ import annotations

import gzip
import json
import os

import pytest


@pytest.fixture(scope="session")
def dev_pages(shared_dir) -> list[dict]:
    """Every labelled dev page (862; 497 with raw HTML), in file order."""
    with gzip.open(shared_dir / "data" / "web" / "dev.jsonl.gz", "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="session")
def spark():
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from opc_data.spark_engine import spark_session

    session = spark_session("local[2]", {"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "4"})
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()
