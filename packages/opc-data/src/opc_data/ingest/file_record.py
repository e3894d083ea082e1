"""One file of a repository -> one raw record (directories, archives and the embedded corpus share this).

    (repo_name, path, bytes) ──▶ record_from_bytes ──▶ record (text, or quarantined with a reason)
    (repo_name, path, size > max_file_bytes) ──▶ oversize_record (content not read into the record)
    (repo_name, path, why)  ──▶ refused_record  (links, unsafe paths, limits: nothing read)

``blob_id`` is always git's object id of the bytes that were (or would be) stored, ``size`` their length.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any, BinaryIO

from opc_data.encoding import OVERSIZE, decode_bytes, reason
from opc_data.ingest.config import IngestConfig
from opc_data.records import git_blob_id, make_record

CHUNK = 1024 * 1024


def record_from_bytes(
    *,
    repo_name: str,
    path: str,
    data: bytes,
    source: str,
    config: IngestConfig,
    license: str | None = None,
    commit_date: str | None = None,
    commit_sha: str | None = None,
) -> dict[str, Any]:
    """Decode ``data`` under the config's encoding policy; oversize files are quarantined, not decoded."""
    if len(data) > config.max_file_bytes:
        return oversize_record(
            repo_name=repo_name, path=path, size=len(data), blob_id=git_blob_id(data), source=source,
            config=config, license=license, commit_date=commit_date, commit_sha=commit_sha,
        )
    decoded = decode_bytes(data, config.encoding)
    return make_record(
        repo_name=repo_name,
        path=path,
        content=decoded.content,
        size=len(data),
        blob_id=git_blob_id(data),
        source=source,
        license=license,
        commit_date=commit_date,
        commit_sha=commit_sha,
        src_encoding=decoded.src_encoding,
        is_binary=decoded.is_binary,
        quarantine_reason=decoded.quarantine_reason,
    )


def oversize_record(
    *,
    repo_name: str,
    path: str,
    size: int,
    blob_id: str,
    source: str,
    config: IngestConfig,
    license: str | None = None,
    commit_date: str | None = None,
    commit_sha: str | None = None,
) -> dict[str, Any]:
    """A file over ``max_file_bytes``: kept as a quarantined record with its size and blob id, content ""."""
    return make_record(
        repo_name=repo_name,
        path=path,
        content="",
        size=size,
        blob_id=blob_id,
        source=source,
        license=license,
        commit_date=commit_date,
        commit_sha=commit_sha,
        quarantine_reason=reason(OVERSIZE, f"{size} bytes > max_file_bytes {config.max_file_bytes}"),
    )


def refused_record(
    *,
    repo_name: str,
    path: str,
    source: str,
    why: str,
    data: bytes = b"",
    size: int | None = None,
    license: str | None = None,
) -> dict[str, Any]:
    """An entry we refuse to read (a link, an unsafe path, a limit): recorded, never silently skipped.

    ``data`` is what git would store for the entry when we know it (a symlink's target), else empty.
    """
    return make_record(
        repo_name=repo_name,
        path=path,
        content="",
        size=len(data) if size is None else size,
        blob_id=git_blob_id(data),
        source=source,
        license=license,
        quarantine_reason=why,
    )


def blob_id_of_stream(f: BinaryIO, size: int) -> str:
    """git blob id of ``size`` bytes read from ``f`` in chunks (bounded memory for huge files)."""
    h = hashlib.sha1(b"blob %d\0" % size)
    for chunk in iter_chunks(f):
        h.update(chunk)
    return h.hexdigest()


def iter_chunks(f: BinaryIO, chunk: int = CHUNK) -> Iterable[bytes]:
    while True:
        block = f.read(chunk)
        if not block:
            return
        yield block
