"""Fixtures of the data package: one local Spark session for the whole test session.

Spark starts in 5-15 s, so every Spark test shares this one (``local[2]``, loopback only, quiet
logs) and it is stopped when the session ends. Tests that use it are marked ``spark``.
"""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def spark():
    """A SparkSession local[2] bound to 127.0.0.1, shared by every Spark test, stopped at the end."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from opc_data.spark_engine import spark_session

    session = spark_session("local[2]", {"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "4"})
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()
