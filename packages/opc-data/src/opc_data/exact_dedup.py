"""Exact dedup: SHA-256 of the content, and the keep rule shared by exact and fuzzy dedup.

Where it sits: first step of ``dedup.deduplicate``; fuzzy dedup then runs over the exact keepers.

Keep rule (the issue's, identical for exact and fuzzy): within a duplicate group keep the record
with the most ``stars`` (null = lowest), then the latest ``commit_date`` (null or unparseable =
oldest), then the smallest ``(repo_name, path)``, then the smallest content hash. ``keep_rank``
turns this into a sort key (smaller = preferred) that depends only on the record itself, so the
winner never depends on shard or record order.

The hash covers the raw bytes when the record carries ``bytes`` and the UTF-8 encoding of the text
otherwise (surrogates passed through), so binary records, empty files and text all take part. One
exception (``exact_key``): a record whose content was not read (``content`` empty but ``size`` > 0,
e.g. an oversize file the ingest quarantined unread) is keyed by its ``blob_id`` (git's SHA-1 of the
raw bytes) -- hashing the empty string would make every such file a copy of every empty file -- and
gets a key of its own when it has no ``blob_id`` either.

What it does NOT do: no near-duplicate detection (``fuzzy_dedup``), no I/O.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Mapping
from typing import Any


def content_bytes(content: str | bytes | None) -> bytes:
    """The bytes that dedup hashes for a record's content (None counts as empty)."""
    if content is None:
        return b""
    if isinstance(content, (bytes, bytearray, memoryview)):
        return bytes(content)
    return content.encode("utf-8", "surrogatepass")


def content_sha256(content: str | bytes | None) -> str:
    """Hex SHA-256 of the content: the exact-dedup key."""
    return hashlib.sha256(content_bytes(content)).hexdigest()


def content_unread(record: Mapping[str, Any]) -> bool:
    """True when ``content`` does not stand for the file (empty text, non-empty file)."""
    return not record.get("content") and (record.get("size") or 0) > 0


def exact_key(record: Mapping[str, Any], position: int) -> bytes:
    """The exact-dedup group key of a record (module doc); ``position`` only names unread, id-less ones."""
    if content_unread(record):
        blob_id = record.get("blob_id")
        if blob_id:
            return b"blob:" + str(blob_id).encode()
        return b"unread:" + position.to_bytes(8, "little")
    return hashlib.sha256(content_bytes(record.get("content"))).digest()


def commit_timestamp(value: Any) -> float | None:
    """Seconds since the epoch of a commit date (ISO-8601 string, datetime, or None); None if unknown.

    A date without an offset is taken as UTC. Unparseable strings count as unknown (the oldest).
    """
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) if math.isfinite(value) else None
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
        except ValueError:
            return None
    elif hasattr(value, "to_pydatetime"):  # pandas.Timestamp
        moment = value.to_pydatetime()
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def _stars(value: Any) -> float | None:
    """Stars as a number; None, NaN and non-numbers count as unknown (ranked lowest)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        stars = float(value)
    except (TypeError, ValueError):
        return None
    return stars if math.isfinite(stars) else None


def keep_rank(record: Mapping[str, Any], sha256: str = "") -> tuple:
    """Sort key of the keep rule: the smallest rank in a duplicate group is kept.

    (no stars?, -stars, no date?, -commit time, repo_name, path, sha256)
    """
    stars = _stars(record.get("stars"))
    ts = commit_timestamp(record.get("commit_date"))
    return (
        0 if stars is not None else 1,
        -stars if stars is not None else 0.0,
        0 if ts is not None else 1,
        -ts if ts is not None else 0.0,
        str(record.get("repo_name") or ""),
        str(record.get("path") or ""),
        sha256,
    )


class ExactIndex:
    """Streaming exact dedup: one entry per distinct content hash, holding the best record so far.

    ``add`` returns nothing; after the last record, ``keeper(sha)`` names the winning record id for
    every hash. Memory: one (hash, rank, id) per distinct content.
    """

    def __init__(self) -> None:
        self._best: dict[str, tuple[tuple, int]] = {}

    def add(self, record_id: int, sha256: str, rank: tuple) -> None:
        current = self._best.get(sha256)
        if current is None or (rank, record_id) < current:
            self._best[sha256] = (rank, record_id)

    def keeper(self, sha256: str) -> int:
        return self._best[sha256][1]

    def __len__(self) -> int:
        return len(self._best)
