"""Pool and seed sources -> units of reading work -> page records (``pages.py``), deterministic order.

    "s3://cc/2024/*.warc.wet.gz"      one unit per matching file (sorted)
    /data/pages/                      one unit per page file under the folder (sorted; _/. files skipped)
    pages.tar.gz / .zip               one unit (members streamed in order)
    {kind: embedded, parts: [...]}    one unit per part

Units are small picklable values, so the Spark engine could read them on executors; the local engine
reads them in the main process while writing input shards. The content key folds in a cheap listing
fingerprint of the files (opc-data's ``external_fingerprint``: path, size, mtime or ETag) and the
embedded pool's distribution list.

What it does NOT do: decide or extract anything (``pages.py`` / ``extract.py``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from opc_core import storage
from opc_core.errors import OpcError
from opc_recall.config import EmbeddedPoolSource, PageSource, Source
from opc_recall.pages import ReadOptions, format_of, read_file


@dataclass(frozen=True)
class Unit:
    kind: str  # "file" | "embedded"
    uri: str  # file URI, or the embedded part name
    fmt: str | None = None


def _as_source(src: Source) -> PageSource | EmbeddedPoolSource:
    if isinstance(src, str):
        return PageSource(uri=src)
    return src


def plan_units(sources: list[Source]) -> list[Unit]:
    units: list[Unit] = []
    for raw in sources:
        src = _as_source(raw)
        if isinstance(src, EmbeddedPoolSource):
            units.extend(Unit("embedded", part) for part in src.parts)
            continue
        uri = storage.normalize(src.uri)
        fs, path = storage.filesystem(uri)
        fmt = None if src.format == "auto" else src.format
        if any(c in src.uri for c in "*?["):
            matches = [storage.to_uri(fs, m) for m in sorted(fs.glob(path))]
            if not matches:
                raise OpcError("no file matches this pattern", where=src.uri, hint="check the path and pattern")
            units.extend(Unit("file", m, fmt) for m in matches if fs.isfile(storage.filesystem(m)[1]))
        elif not fs.exists(path):
            raise OpcError("input not found", where=uri, hint="check the path (local or s3://bucket/key)")
        elif fs.isdir(path):
            for rel in storage.list_files(uri):
                if any(p.startswith(("_", ".")) for p in rel.split("/")):
                    continue
                if (fmt or format_of(rel)) is not None:
                    units.append(Unit("file", storage.join(uri, rel), fmt))
        else:
            units.append(Unit("file", uri, fmt))
    return units


def read_unit(unit: Unit, opts: ReadOptions) -> Iterator[dict[str, Any]]:
    if unit.kind == "embedded":
        from opc_recall.embedded_pool import read_part

        return read_part(unit.uri)
    return read_file(unit.uri, opts, unit.fmt)


def read_sources(sources: list[Source], opts: ReadOptions) -> Iterator[dict[str, Any]]:
    for unit in plan_units(sources):
        yield from read_unit(unit, opts)


def fingerprint(sources: list[Source]) -> str:
    """Listings of the files (not their bytes) and the embedded pool's distributions."""
    from opc_data.ingest import IngestConfig, UriSource, external_fingerprint
    from opc_recall.embedded_pool import fingerprint as embedded_fingerprint

    h = hashlib.sha256()
    for raw in sources:
        src = _as_source(raw)
        if isinstance(src, EmbeddedPoolSource):
            h.update(f"embedded\t{embedded_fingerprint(list(src.parts))}\n".encode())
        else:
            h.update(f"uri\t{external_fingerprint(IngestConfig(sources=[UriSource(uri=src.uri)]))}\n".encode())
    return h.hexdigest()
