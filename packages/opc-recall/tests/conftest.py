"""Fixtures of the recall package: real labelled web pages from ``../shared/data/web/dev.jsonl.gz``.

Spark tests use the one local session of the root conftest (``spark``: ``local[2]``, loopback only).
"""

from __future__ import annotations

import gzip
import json

import pytest


@pytest.fixture(scope="session")
def dev_pages(shared_dir) -> list[dict]:
    """Every labelled dev page (862; 497 with raw HTML), in file order."""
    with gzip.open(shared_dir / "data" / "web" / "dev.jsonl.gz", "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


