"""Stack-style Parquet readers, local or s3://, streamed in row batches.

  * not Parquet / truncated footer / corrupt pages -> ``OpcError`` naming the file (and the last good row)
  * wrong schema (no column for repo_name, path or content; content neither string nor binary)
                                                  -> ``OpcError`` listing the columns found
  * a null required value, or a value of impossible type in a row -> as in JSONL: null required =
    ``OpcError`` naming file and row, impossible type = quarantined ``malformed_record`` (strict: error)

A ``binary`` content column holds raw bytes: they are decoded by ``encoding.decode_bytes``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from opc_core import storage
from opc_core.errors import OpcError
from opc_data.ingest.config import IngestConfig
from opc_data.ingest.stack_schema import (
    ALIASES,
    RecordProblem,
    field_columns,
    from_stack_dict,
    malformed_record,
)
from opc_data.records import REQUIRED_FIELDS

SUFFIXES = (".parquet", ".pq")
BATCH_ROWS = 1024
_CONTENT_TYPES = (pa.types.is_string, pa.types.is_large_string, pa.types.is_binary, pa.types.is_large_binary)


def _check_schema(schema: pa.Schema, uri: str) -> list[str]:
    cols = field_columns(schema.names)
    missing = [f for f in REQUIRED_FIELDS if f not in cols]
    if missing:
        raise OpcError(
            f"wrong schema: no column for {missing} (looked for {[ALIASES[m] for m in missing]}); "
            f"columns are {schema.names[:20]}",
            where=uri,
            hint="a Stack-style Parquet file needs repo_name, path and content columns",
        )
    ctype = schema.field(cols["content"]).type
    if not any(check(ctype) for check in _CONTENT_TYPES):
        raise OpcError(f"wrong schema: column {cols['content']!r} is {ctype}, not string or binary", where=uri)
    return sorted(set(cols.values()))


def read_parquet(uri: str, config: IngestConfig) -> Iterator[dict[str, Any]]:
    """Every row of a Parquet file as a raw record, in file order."""
    fs, path = storage.filesystem(uri)
    try:
        f = fs.open(path, "rb")
    except (OSError, ValueError) as exc:
        raise OpcError(f"cannot open: {exc}", where=uri, hint="check the path and your credentials") from exc
    with f:
        try:
            pf = pq.ParquetFile(f)
        except (pa.ArrowInvalid, OSError) as exc:
            raise OpcError(
                f"not a readable Parquet file (truncated or corrupt?): {exc}", where=uri,
                hint="re-create or re-download the file",
            ) from exc
        columns = _check_schema(pf.schema_arrow, uri)
        row = 0
        try:
            for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=columns):
                for obj in batch.to_pylist():
                    row += 1
                    where = f"{uri}: row {row}"
                    try:
                        yield from_stack_dict(obj, where=where, source=uri, config=config)
                    except RecordProblem as exc:
                        if config.strict:
                            raise OpcError(f"bad record: {exc}", where=where) from exc
                        line = json.dumps(obj, default=repr, ensure_ascii=False).encode("utf-8", "surrogatepass")
                        yield malformed_record(line=line, where=where, source=uri, why=str(exc)[:300])
        except (pa.ArrowInvalid, pa.ArrowIOError, OSError) as exc:
            raise OpcError(
                f"corrupt Parquet data after row {row}: {exc}", where=uri,
                hint=f"the first {row} rows were read; re-create or re-download the file",
            ) from exc
