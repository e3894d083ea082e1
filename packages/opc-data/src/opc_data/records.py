"""The raw record: what every ingest reader yields and every later data step consumes.

    reader (JSONL / Parquet / directory / archive / embedded)  ──▶  raw record (dict)  ──▶  langid, signals, dedup ...

A raw record is a plain ``dict`` (cheap to build, pickles to worker processes, maps 1:1 onto a Parquet
row) with exactly the keys of ``RAW_FIELDS``:

    repo_name      str         "owner/name" (or the distribution name for the embedded corpus)
    path           str         "/"-separated path inside the repository
    content        str         file text (UTF-8, or decoded by the detected encoding); for binary files the
                               Latin-1 decoding of the bytes (lossless), for oversize files "" (not read)
    size           int         length of the raw file in bytes (not of ``content``)
    blob_id        str         git blob id: sha1(b"blob <size>\\0" + raw bytes)
    license        str | None  SPDX id or expression
    stars          int | None  repository stars (None = not recorded)
    commit_date    str | None  ISO-8601
    commit_sha     str | None
    src_encoding   str         encoding the bytes were decoded with ("UTF-8", "ISO-8859-1", "cp1252", ...)
    is_binary      bool        git's rule: a NUL byte in the first 8,000 bytes
    source         str         URI of the input the record came from (file, archive, ``embedded:<dist>``)
    quarantine_reason str|None set when the record cannot be processed as text (see ``encoding.py`` for
                               the reasons); such a record is still carried to the quarantined output

This module does not read files (``ingest/``) nor decide encodings (``encoding.py``): it fixes the
names, defaults and the Arrow schema so other modules build on one definition.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa

# Required in any external record source (Stack-style JSONL / Parquet); a record missing one is an error.
REQUIRED_FIELDS: tuple[str, ...] = ("repo_name", "path", "content")

# Optional fields and their defaults when a source does not carry them. ``size``, ``blob_id`` and
# ``is_binary`` are derived from the content when absent (see ``complete_record``).
OPTIONAL_DEFAULTS: dict[str, Any] = {
    "size": None,
    "blob_id": None,
    "license": None,
    "stars": None,
    "commit_date": None,
    "commit_sha": None,
    "src_encoding": "UTF-8",
    "is_binary": None,
    "quarantine_reason": None,
}

RAW_FIELDS: tuple[str, ...] = (
    "repo_name",
    "path",
    "content",
    "size",
    "blob_id",
    "license",
    "stars",
    "commit_date",
    "commit_sha",
    "src_encoding",
    "is_binary",
    "source",
    "quarantine_reason",
)

RAW_SCHEMA = pa.schema(
    [
        pa.field("repo_name", pa.string(), nullable=False),
        pa.field("path", pa.string(), nullable=False),
        pa.field("content", pa.string(), nullable=False),
        pa.field("size", pa.int64(), nullable=False),
        pa.field("blob_id", pa.string(), nullable=False),
        pa.field("license", pa.string()),
        pa.field("stars", pa.int64()),
        pa.field("commit_date", pa.string()),
        pa.field("commit_sha", pa.string()),
        pa.field("src_encoding", pa.string(), nullable=False),
        pa.field("is_binary", pa.bool_(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("quarantine_reason", pa.string()),
    ]
)

BINARY_SNIFF_BYTES = 8000  # git's rule (and The Stack's): NUL in the first 8,000 bytes = binary


def git_blob_id(data: bytes) -> str:
    """The git object id of a blob with these bytes (same as ``git hash-object``)."""
    h = hashlib.sha1(b"blob %d\0" % len(data))
    h.update(data)
    return h.hexdigest()


def looks_binary(data: bytes) -> bool:
    """git's heuristic: a NUL byte in the first 8,000 bytes."""
    return b"\0" in data[:BINARY_SNIFF_BYTES]


def make_record(
    *,
    repo_name: str,
    path: str,
    content: str,
    size: int,
    blob_id: str,
    source: str,
    license: str | None = None,
    stars: int | None = None,
    commit_date: str | None = None,
    commit_sha: str | None = None,
    src_encoding: str = "UTF-8",
    is_binary: bool = False,
    quarantine_reason: str | None = None,
) -> dict[str, Any]:
    """A raw record with every field of ``RAW_FIELDS`` in schema order."""
    return {
        "repo_name": repo_name,
        "path": path,
        "content": content,
        "size": int(size),
        "blob_id": blob_id,
        "license": license,
        "stars": stars,
        "commit_date": commit_date,
        "commit_sha": commit_sha,
        "src_encoding": src_encoding,
        "is_binary": bool(is_binary),
        "source": source,
        "quarantine_reason": quarantine_reason,
    }


def is_quarantined(record: dict[str, Any]) -> bool:
    return record.get("quarantine_reason") is not None


def quarantine_reason_of(record: Mapping[str, Any]) -> str | None:
    """Why a raw record cannot be processed as text (the ingest's reason, else ``binary``), or None.

    The one rule the data stage, ``opc data filter`` and ``opc data dedup`` all quarantine by.
    """
    reason = record.get("quarantine_reason")
    if reason is None and record.get("is_binary"):
        reason = "binary"
    return reason


def record_key(record: dict[str, Any]) -> tuple[str, str]:
    """(repo_name, path) identifies a record; ``blob_id`` repeats across exact copies."""
    return record["repo_name"], record["path"]


def to_table(records: Iterable[dict[str, Any]]) -> pa.Table:
    """Records -> Arrow table of ``RAW_SCHEMA`` (extra keys are ignored)."""
    rows = [{k: r.get(k) for k in RAW_FIELDS} for r in records]
    return pa.Table.from_pylist(rows, schema=RAW_SCHEMA)
