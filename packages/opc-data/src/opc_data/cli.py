"""``opc data ...``: the data stage's tools as pure commands (no stage cache, no recipe needed).

    opc data filter INPUT OUTPUT_DIR   language id + signals + OpenCoder rules on the raw content
    opc data dedup  INPUT OUTPUT_DIR   exact + fuzzy dedup with the recipe defaults (2048 perms, 16 x 128)

INPUT is a Stack-style JSONL(.gz)/Parquet file, a folder of them, a glob, or any source the ingest
reads (local path or ``s3://``). OUTPUT_DIR (local or ``s3://``, created if absent) receives only
``part-*.parquet`` files of one flat schema, one row per input record in input order, plus ``_``-prefixed
metadata (``_SUMMARY.json``). A one-line summary goes to stderr; unreadable input exits non-zero
with a message naming the file.

``filter`` rows: ``repo_name, path, blob_id, program_lang, doc_type, lang, scope, keep, rules_fired,
reject_reason, signal_errors`` and every signal column. Quarantined records (binary, undecodable,
oversize, malformed) are rows with ``keep`` false and ``reject_reason`` ``quarantined: ...``.
``dedup`` rows: ``repo_name, path, blob_id, keep, duplicate_of_repo_name, duplicate_of_path, dup_kind
(exact | fuzzy | null), dup_jaccard, cluster_id, reject_reason``; a record ``filter`` quarantines
(binary, undecodable, oversize, malformed) is quarantined here too (``keep`` false, ``reject_reason``
``quarantined: ...``, never a dedup candidate); every other record is kept or a duplicate.

What it does NOT do: transforms, sampling, decontamination (the ``data`` stage does), or read a cache.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import Annotated, Any

import typer

app = typer.Typer(help="Data-stage tools: filter (OpenCoder rules) and dedup (exact + MinHash-LSH), as pure commands.",
                  no_args_is_help=True, pretty_exceptions_enable=False)

InputArg = Annotated[str, typer.Argument(help="Stack-style JSONL(.gz)/Parquet file, folder or glob (local or s3://)")]
OutputArg = Annotated[str, typer.Argument(help="output folder (local or s3://), created if absent")]
WorkersOpt = Annotated[int, typer.Option(help="worker processes (0 = one per core this process may use)")]
RowsOpt = Annotated[int, typer.Option(help="rows per output Parquet file")]


def _dedup_schema():
    import pyarrow as pa

    return pa.schema([
        pa.field("repo_name", pa.string()), pa.field("path", pa.string()), pa.field("blob_id", pa.string()),
        pa.field("keep", pa.bool_()), pa.field("duplicate_of_repo_name", pa.string()),
        pa.field("duplicate_of_path", pa.string()), pa.field("dup_kind", pa.string()),
        pa.field("dup_jaccard", pa.float64()), pa.field("cluster_id", pa.string()),
        pa.field("reject_reason", pa.string()),
    ])


_RECORD_FILTER: list[Any] = []  # this process's RecordFilter (the defaults), built on first use


def _filter_batch(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Filter one batch (in a pool worker or inline), reusing the process's one RecordFilter."""
    from opc_data.filtering import FilterConfig, RecordFilter

    if not _RECORD_FILTER:
        _RECORD_FILTER.append(RecordFilter(FilterConfig()))
    rule_filter = _RECORD_FILTER[0]
    return [rule_filter.filter_record(r) for r in records]


def _batches(records: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for r in records:
        batch.append(r)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _ordered_parallel(batches: Iterator[list[dict[str, Any]]], workers: int) -> Iterator[dict[str, Any]]:
    """Filter batches in a process pool, at most 2 x workers batches in flight, results in input order."""
    if workers <= 1:
        for b in batches:
            yield from _filter_batch(b)
        return
    from collections import deque

    from opc_core.child_processes import process_pool

    with process_pool(workers) as pool:
        pending: deque = deque()
        for b in batches:
            pending.append(pool.submit(_filter_batch, b))
            if len(pending) >= 2 * workers:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()


def _usable_cores() -> int:
    """The cores this process may run on (a ``taskset``/cgroup-pinned run gets one worker per core it has)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # no affinity API (macOS)
        return os.cpu_count() or 1


def _skip_pandas_probe() -> None:
    """Tell pyarrow now that this process has no pandas, so writing rows does not import it.

    pyarrow's first ``pa.array`` of a Python list imports pandas (~0.3 s CPU, a tenth of a small
    ``filter`` run) only to ask whether the list is a pandas object. A command process holds none: with
    ``pandas`` unimportable during one probe conversion, pyarrow records "no pandas" and converts lists
    as always (an explicit pandas use later would import it normally).
    """
    if "pandas" in sys.modules:
        return
    import pyarrow as pa

    class _NoPandas:
        @staticmethod
        def find_spec(name: str, path: object = None, target: object = None) -> None:
            if name == "pandas":
                raise ModuleNotFoundError("pandas is not used by this command", name=name)

    sys.meta_path.insert(0, _NoPandas)  # type: ignore[arg-type]
    try:
        pa.array([0])
    finally:
        sys.meta_path.remove(_NoPandas)  # type: ignore[arg-type]


def _write(rows: Iterable[dict[str, Any]], output_dir: str, schema, rows_per_file: int) -> list[str]:
    """Stream rows into part-*.parquet; on any error remove what was written and re-raise."""
    from opc_core import dataset, storage

    storage.makedirs(output_dir)
    writer = dataset.ShardWriter(output_dir, schema, rows_per_file)
    try:
        for row in rows:
            writer.write({k: row.get(k) for k in schema.names})
        return writer.close()
    except BaseException:
        for uri in writer.written:
            storage.remove(uri)
        raise


class _Reader:
    """A re-iterable input (dedup reads it twice, so only bucketed shingle sets are ever held)."""

    def __init__(self, uri: str) -> None:
        from opc_data.ingest import IngestConfig

        self.uri = uri
        self.config = IngestConfig(sources=[uri])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        from opc_data.ingest import read_records

        return read_records(None, self.config)


class _Quarantining:
    """The records of ``reader`` that can be deduplicated; each pass notes the others (input position ->
    ``quarantined: <reason>``), by the same rule as ``opc data filter`` and the data stage."""

    def __init__(self, reader: Iterable[dict[str, Any]]) -> None:
        self.reader = reader
        self.quarantined: dict[int, tuple[dict[str, Any], str]] = {}

    def __iter__(self) -> Iterator[dict[str, Any]]:
        from opc_data.records import quarantine_reason_of

        self.quarantined = {}
        for i, rec in enumerate(self.reader):
            reason = quarantine_reason_of(rec)
            if reason is None:
                yield rec
            else:
                self.quarantined[i] = ({k: rec.get(k) for k in ("repo_name", "path", "blob_id")}, reason)

    def merged(self, dedup_rows: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """Dedup rows and quarantined rows back in input order."""
        rows = iter(dedup_rows)
        for i in range(len(dedup_rows) + len(self.quarantined)):
            if i in self.quarantined:
                ids, reason = self.quarantined[i]
                yield {**ids, "keep": False, "reject_reason": f"quarantined: {reason}"}
            else:
                yield next(rows)


def _summary(command: str, output_dir: str, n_in: int, kept: int, rejected: int, quarantined: int,
             extra: dict[str, Any]) -> None:
    from opc_core import storage

    storage.write_json_atomic(storage.join(output_dir, "_SUMMARY.json"), {
        "command": command, "records_in": n_in, "kept": kept, "rejected": rejected, "quarantined": quarantined,
        **extra,
    })
    print(f"opc data {command}: records in {n_in}, kept {kept}, rejected {rejected}, quarantined {quarantined}"
          f" -> {output_dir}", file=sys.stderr)


def _check_input(input: str) -> None:
    from opc_core import storage
    from opc_core.errors import OpcError

    if not any(c in input for c in "*?[") and not storage.exists(storage.normalize(input)):
        raise OpcError("input not found", where=input, hint="give a JSONL(.gz)/Parquet file or folder, local or s3://")


def _fail(exc: Exception) -> None:
    print(f"error: {exc}", file=sys.stderr)
    raise typer.Exit(2)


@app.command("filter")
def filter_command(input: InputArg, output_dir: OutputArg, workers: WorkersOpt = 0,
                   rows_per_file: RowsOpt = 50_000) -> None:
    """Language id + OpenCoder signals + rules on the raw content; one row per input record."""
    from opc_core import storage
    from opc_core.errors import OpcError
    from opc_data.filtering import FILTER_SCHEMA  # the one schema of filter rows (signal columns included)

    output_dir = storage.normalize(output_dir)
    counts = {"in": 0, "kept": 0, "rejected": 0, "quarantined": 0}

    def counted(rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for row in rows:
            counts["in"] += 1
            if row["keep"]:
                counts["kept"] += 1
            elif str(row.get("reject_reason") or "").startswith("quarantined"):
                counts["quarantined"] += 1
            else:
                counts["rejected"] += 1
            yield row

    try:
        _check_input(input)
        _skip_pandas_probe()
        reader = _Reader(input)
        n = workers or _usable_cores()
        _write(counted(_ordered_parallel(_batches(reader, 200), n)), output_dir, FILTER_SCHEMA, rows_per_file)
    except OpcError as exc:
        _fail(exc)
    except (OSError, EOFError, ValueError) as exc:
        _fail(OpcError(f"cannot read the input: {exc}", where=input))
    _summary("filter", output_dir, counts["in"], counts["kept"], counts["rejected"], counts["quarantined"], {})


@app.command("dedup")
def dedup_command(input: InputArg, output_dir: OutputArg, rows_per_file: RowsOpt = 50_000) -> None:
    """Exact (SHA-256) + fuzzy (MinHash 2048, LSH 16 x 128, verified Jaccard >= 0.8) dedup; one row per record."""
    from opc_core import storage
    from opc_core.errors import OpcError
    from opc_data.dedup import DedupConfig, deduplicate

    output_dir = storage.normalize(output_dir)
    try:
        _check_input(input)
        records = _Quarantining(_Reader(input))
        result = deduplicate(records, DedupConfig())
        _write(records.merged(result.rows), output_dir, _dedup_schema(), rows_per_file)
    except OpcError as exc:
        _fail(exc)
    except (OSError, EOFError, ValueError) as exc:
        _fail(OpcError(f"cannot read the input: {exc}", where=input))
    kept = sum(1 for r in result.rows if r["keep"])
    stats = {k: v for k, v in result.stats.items() if k != "s_curve"}
    n_quarantined = len(records.quarantined)
    _summary("dedup", output_dir, len(result.rows) + n_quarantined, kept, len(result.rows) - kept, n_quarantined,
             {"dedup": stats})
