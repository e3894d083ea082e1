"""Datasets: folders of Parquet shards (zstd), each shard written atomically.

    <output>/<name>/part-00000.parquet      one flat schema per dataset
    <output>/<name>/part-00001.parquet      a shard exists whole or not at all, so a crashed
    ...                                     stage resumes by skipping shards already present

A shard is written to a temp name and renamed (locally) or uploaded in one object (S3). Readers
stream record batches, so memory stays bounded by the batch size, not the dataset size.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from opc_core import storage
from opc_core.errors import OpcError

COMPRESSION = "zstd"


def shard_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


def write_table(uri: str, table: pa.Table) -> None:
    """Write one Parquet file atomically (temp name + rename locally; one PUT on S3)."""
    buf = io.BytesIO()
    pq.write_table(table, buf, compression=COMPRESSION)
    storage.write_bytes_atomic(uri, buf.getvalue())


class ShardWriter:
    """Accumulate rows and flush a shard every ``rows_per_shard`` rows; ``close()`` flushes the rest."""

    def __init__(self, dataset_uri: str, schema: pa.Schema, rows_per_shard: int = 50_000, start_index: int = 0):
        self.dataset_uri = dataset_uri
        self.schema = schema
        self.rows_per_shard = rows_per_shard
        self.index = start_index
        self.rows: list[dict[str, Any]] = []
        self.written: list[str] = []
        storage.makedirs(dataset_uri)

    def write(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.rows_per_shard:
            self.flush()

    def write_many(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            self.write(row)

    def flush(self) -> None:
        if not self.rows:
            return
        table = pa.Table.from_pylist(self.rows, schema=self.schema)
        uri = storage.join(self.dataset_uri, shard_name(self.index))
        write_table(uri, table)
        self.written.append(uri)
        self.index += 1
        self.rows = []

    def close(self) -> list[str]:
        self.flush()
        return self.written

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.close()


def shard_uris(dataset_uri: str) -> list[str]:
    return [
        storage.join(dataset_uri, rel)
        for rel in storage.list_files(dataset_uri)
        if rel.endswith(".parquet") and not rel.rsplit("/", 1)[-1].startswith(("_", "."))
    ]


def read_file_batches(uri: str, columns: list[str] | None = None,
                      batch_size: int = 4096) -> Iterator[pa.RecordBatch]:
    """Stream the record batches of ONE Parquet file (local or s3://): the one single-file reader."""
    fs, path = storage.filesystem(uri)
    try:
        with fs.open(path, "rb") as f:
            yield from pq.ParquetFile(f).iter_batches(batch_size=batch_size, columns=columns)
    except (pa.ArrowInvalid, OSError) as exc:
        raise OpcError(f"unreadable Parquet file: {exc}", where=uri, hint="delete it and rerun the stage") from exc


def read_file(uri: str, columns: list[str] | None = None) -> pa.Table:
    """ONE Parquet file as a table (an empty file keeps its schema)."""
    fs, path = storage.filesystem(uri)
    try:
        with fs.open(path, "rb") as f:
            return pq.read_table(f, columns=columns)
    except (pa.ArrowInvalid, OSError) as exc:
        raise OpcError(f"unreadable Parquet file: {exc}", where=uri, hint="delete it and rerun the stage") from exc


def read_batches(dataset_uri: str, columns: list[str] | None = None, batch_size: int = 4096) -> Iterator[pa.RecordBatch]:
    """Stream record batches from every shard in name order."""
    for uri in shard_uris(dataset_uri):
        yield from read_file_batches(uri, columns, batch_size)


def count_rows(dataset_uri: str) -> int:
    """Rows in the dataset, from the shards' Parquet footers (no data is read): totals for progress."""
    total = 0
    for uri in shard_uris(dataset_uri):
        fs, path = storage.filesystem(uri)
        with fs.open(path, "rb") as f:
            total += pq.ParquetFile(f).metadata.num_rows
    return total


def read_rows(dataset_uri: str, columns: list[str] | None = None) -> Iterator[dict[str, Any]]:
    for batch in read_batches(dataset_uri, columns):
        yield from batch.to_pylist()


def read_table(dataset_uri: str, columns: list[str] | None = None) -> pa.Table:
    batches = list(read_batches(dataset_uri, columns))
    if not batches:
        raise OpcError("dataset has no shards", where=dataset_uri)
    return pa.Table.from_batches(batches)
