"""JSON Lines, read one way everywhere: local paths or ``s3://``, plain or gzip (by magic bytes, not name),
blank lines skipped, a bad line an error that names the file and the line.

Used for benchmark files, eval samples, training metrics and anything else a stage or a report reads as
JSONL. The two corpus ingests (``opc_data.ingest.jsonl`` for raw code, ``opc_recall.pages`` for web pages)
stream files too large to hold and quarantine a bad line instead of failing, so they keep their own loops.

What it does NOT do: validate fields (callers say which fields they need), or stream huge files (it reads
the file into memory; use the ingest for corpora).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from opc_core import storage
from opc_core.errors import OpcError


def iter_jsonl_bytes(data: bytes, where: str) -> Iterator[tuple[int, Any]]:
    """(line number, parsed object) for each non-blank line of JSONL bytes (gzip or plain)."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    for n, line in enumerate(data.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield n, json.loads(line)
        except json.JSONDecodeError as exc:
            raise OpcError(f"line {n} is not JSON: {exc}", where=where, hint="one JSON object per line") from exc


def iter_jsonl(uri: str | Path, what: str = "JSONL file") -> Iterator[tuple[int, Any]]:
    """(line number, parsed object) for each non-blank line of the file at ``uri``."""
    uri = str(uri)
    try:
        data = storage.read_bytes(uri)
    except FileNotFoundError as exc:
        raise OpcError(f"{what} not found", where=uri) from exc
    return iter_jsonl_bytes(data, uri)


def read_jsonl(uri: str | Path, what: str = "JSONL file") -> list[Any]:
    """Every object of the file at ``uri``, in order."""
    return [obj for _, obj in iter_jsonl(uri, what)]
