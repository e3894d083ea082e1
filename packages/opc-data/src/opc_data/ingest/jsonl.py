"""Stack-style JSONL readers (``.jsonl``, ``.jsonl.gz``, ``.json.gz``, ``.jsonl.bz2``, ``.jsonl.xz``), local or s3://.

Streams line by line (memory bounded by the longest line). What happens to each kind of bad input:

  * blank line                      -> not a record, skipped (nothing to keep)
  * line that is not JSON / not an object, or a field with an impossible type
                                    -> quarantined record ``malformed_record: <file>:<line>: ...`` holding the
                                       raw line (or an ``OpcError`` with ``strict: true``)
  * object without repo_name/path/content -> ``OpcError`` naming file and line (wrong kind of input)
  * truncated / corrupt compressed stream -> ``OpcError`` naming the file and the last good line
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import zlib
from collections.abc import Iterator
from typing import Any, BinaryIO

from opc_core import storage
from opc_core.errors import OpcError
from opc_data.ingest.config import IngestConfig
from opc_data.ingest.stack_schema import RecordProblem, from_stack_dict, malformed_record

SUFFIXES = (".jsonl", ".jsonl.gz", ".json.gz", ".ndjson", ".ndjson.gz", ".jsonl.bz2", ".jsonl.xz")


def _decompressed(raw: BinaryIO, uri: str) -> BinaryIO:
    if uri.endswith(".gz"):
        return gzip.GzipFile(fileobj=raw)  # type: ignore[return-value]
    if uri.endswith(".bz2"):
        return bz2.BZ2File(raw)  # type: ignore[return-value]
    if uri.endswith(".xz"):
        return lzma.LZMAFile(raw)  # type: ignore[return-value]
    return raw


def read_jsonl(uri: str, config: IngestConfig) -> Iterator[dict[str, Any]]:
    """Every line of a JSONL(.gz) file as a raw record, in file order."""
    fs, path = storage.filesystem(uri)
    lineno = 0
    try:
        raw = fs.open(path, "rb")
    except (OSError, ValueError) as exc:
        raise OpcError(f"cannot open: {exc}", where=uri, hint="check the path and your credentials") from exc
    with raw:
        stream = _decompressed(raw, uri)
        try:
            for line in stream:
                lineno += 1
                if not line.strip():
                    continue
                where = f"{uri}:{lineno}"
                try:
                    obj = json.loads(line)
                    yield from_stack_dict(obj, where=where, source=uri, config=config)
                except (ValueError, RecordProblem) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
                    if config.strict:
                        raise OpcError(f"bad record: {exc}", where=where, hint="fix or drop the line, or set strict: false to quarantine it") from exc
                    yield malformed_record(line=line.rstrip(b"\r\n"), where=where, source=uri, why=str(exc)[:300])
        except (EOFError, zlib.error, gzip.BadGzipFile, lzma.LZMAError, OSError) as exc:
            raise OpcError(
                f"truncated or corrupt compressed stream after line {lineno}: {exc}",
                where=uri,
                hint=f"the first {lineno} lines were read; re-create or re-download the file",
            ) from exc
