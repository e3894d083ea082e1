"""Ingest: raw code dumps in the forms people have them -> a stream of raw records (``opc_data.records``).

    IngestConfig.sources ──plan_units──▶ [SourceUnit, ...] ──read_unit (any worker)──▶ raw records
        s3://b/stack/*.parquet      one unit per record file            stack_schema.from_stack_dict
        /data/repos/                one unit per repository folder      directory.read_repository
        repos.tar.gz / .zip         one unit per archive                archive.read_archive
        {kind: embedded}            one unit per distribution           embedded_corpus.read_distribution

``plan_units`` is cheap (listings only) and deterministic (sorted); units are small picklable values, so an
engine can hand them to a process pool or Spark tasks; ``read_unit`` streams with bounded memory.
``read_records(source, config)`` and ``iter_batches(config, n)`` are the serial conveniences.

Nothing is lost silently. Every input entry becomes a record; the ones that cannot be used as text carry
``quarantine_reason`` (``encoding.QUARANTINE_CODES``). The rule for bad input:

  quarantine (a record with the reason; the run goes on)   | error (``OpcError`` naming file and line/row/member)
  ---------------------------------------------------------+-----------------------------------------------------
  binary file (NUL in the first 8,000 bytes)               | file missing / unreadable / unknown format
  not UTF-8 and no encoding detected                       | truncated or corrupt gzip/bz2/xz stream
  file over max_file_bytes (content not read)              | truncated or corrupt Parquet file
  malformed JSONL line; field of impossible type           | wrong schema (no repo_name/path/content column)
    (an error instead with ``strict: true``)               | record without repo_name/path/content
  archive member: path traversal, link, device,            | not an archive / truncated archive
    zip bomb (ratio), past the archive size budget         | tar stream over the size/ratio budget (bomb)
  symlink or special file in a directory                   | more than max_members archive members

Record-level damage is quarantined because one bad line in a large dump should not stop a run; file-level
damage is an error because the rest of the file cannot be trusted or the input is not what the user thinks.
Blank JSONL lines and folder entries are not records. Records read before an error were already yielded
(except those held back to fill a missing licence from their repository's licence file).

Licences: a record's own ``license`` field wins; record dumps fill a missing one from the repository's
root licence file (``repo_license.py``); directories and archives use the source's ``license`` or the
repository's licence files; the embedded corpus uses package metadata, then licence files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from opc_core import storage
from opc_core.errors import OpcError
from opc_data.ingest import archive, directory, embedded_corpus, jsonl, parquet
from opc_data.ingest.config import (
    ArchiveLimits,
    EmbeddedSource,
    IngestConfig,
    UriSource,
)
from opc_data.ingest.repo_license import fill_repo_licenses

__all__ = [
    "ArchiveLimits",
    "EmbeddedSource",
    "IngestConfig",
    "SourceUnit",
    "UriSource",
    "external_fingerprint",
    "iter_batches",
    "plan_units",
    "read_records",
    "read_unit",
]

RECORD_SUFFIXES = jsonl.SUFFIXES + parquet.SUFFIXES


@dataclass(frozen=True)
class SourceUnit:
    """One independent piece of reading work: a record file, a repository folder, an archive, a distribution."""

    kind: str  # "jsonl" | "parquet" | "repo_dir" | "archive" | "embedded"
    uri: str  # file / folder / archive URI, or the distribution name
    repo_name: str | None = None
    subdir: str = ""
    top_only: bool = False
    license: str | None = None
    patterns: tuple[str, ...] | None = None  # embedded: which RECORD paths of the distribution

    @property
    def label(self) -> str:
        if self.kind == "repo_dir":
            return f"{self.uri}/{self.subdir}" if self.subdir else self.uri
        return self.uri


def _format_of(uri: str) -> str | None:
    low = uri.lower()
    if low.endswith(jsonl.SUFFIXES):
        return "jsonl"
    if low.endswith(parquet.SUFFIXES):
        return "parquet"
    if low.endswith(archive.SUFFIXES):
        return "archive"
    return None


def _as_source(source: Any) -> UriSource | EmbeddedSource:
    if isinstance(source, (UriSource, EmbeddedSource)):
        return source
    if isinstance(source, str):
        return UriSource(uri=source)
    if isinstance(source, dict):
        return EmbeddedSource(**source) if source.get("kind") == "embedded" else UriSource(**source)
    raise OpcError(f"not a source: {source!r}", hint="give a path, an s3:// URI or {kind: embedded, ...}")


def _file_unit(uri: str, fmt: str, src: UriSource) -> SourceUnit:
    if fmt in ("jsonl", "parquet"):
        return SourceUnit(fmt, uri)
    if fmt == "archive":
        return SourceUnit("archive", uri, repo_name=src.repo_name, license=src.license)
    raise OpcError(f"format {fmt!r} does not apply to a file", where=uri)


def _plan_uri(src: UriSource, config: IngestConfig) -> list[SourceUnit]:
    uri = storage.normalize(src.uri)
    fs, path = storage.filesystem(uri)
    if any(c in src.uri for c in "*?["):
        matches = sorted(fs.glob(path))
        if not matches:
            raise OpcError("no file matches this pattern", where=src.uri, hint="check the path and pattern")
        units: list[SourceUnit] = []
        for m in matches:
            units.extend(_plan_uri(src.model_copy(update={"uri": storage.to_uri(fs, m)}), config))
        return units
    if not fs.exists(path):
        raise OpcError("input not found", where=uri, hint="check the path (local or s3://bucket/key)")
    if fs.isdir(path):
        if src.format not in ("auto", "directory"):
            files = [storage.join(uri, rel) for rel in storage.list_files(uri)]
            return [_file_unit(f, src.format, src) for f in files if _format_of(f) == src.format]
        # metadata (``_SUCCESS``, ``_MANIFEST.json``, ``_work/``) and hidden files do not decide the layout
        visible = [r for r in storage.list_files(uri) if not any(p.startswith(("_", ".")) for p in r.split("/"))]
        record_files = [r for r in visible if _format_of(r) in ("jsonl", "parquet")]
        if src.format == "auto" and visible and len(record_files) == len(visible):
            return [SourceUnit(_format_of(r) or "", storage.join(uri, r)) for r in record_files]
        return [
            SourceUnit("repo_dir", r.root, repo_name=r.repo_name, subdir=r.subdir, top_only=r.top_only,
                       license=src.license)
            for r in directory.list_repositories(uri, config, src.repo_name)
        ]
    fmt = src.format if src.format != "auto" else _format_of(uri)
    if fmt is None or fmt == "directory":
        raise OpcError(
            "cannot tell the format of this file",
            where=uri,
            hint="name it .jsonl/.jsonl.gz/.parquet/.tar.gz/.zip or give {uri: ..., format: jsonl|parquet|archive}",
        )
    return [_file_unit(uri, fmt, src)]


def plan_units(config: IngestConfig, source: Any | None = None) -> list[SourceUnit]:
    """The units of work of one source (or of every source in the config), in deterministic order."""
    sources = [_as_source(source)] if source is not None else list(config.sources)
    if not sources:
        raise OpcError("no input: stages.data.ingest.sources is empty; name at least one source (a path, an "
                       "s3:// URI, or {kind: embedded, distributions: [...]} as in recipes/tiny.yaml)")
    units: list[SourceUnit] = []
    for src in sources:
        if isinstance(src, EmbeddedSource):
            embedded_corpus.check_budget(src)
            units.extend(
                SourceUnit("embedded", name, patterns=tuple(embedded_corpus.include_patterns(src, name) or ()) or None)
                for name in src.distributions
            )
        else:
            units.extend(_plan_uri(src, config))
    return units


def read_unit(unit: SourceUnit, config: IngestConfig) -> Iterator[dict[str, Any]]:
    """Stream the raw records of one unit (safe to call in a worker process)."""
    if unit.kind == "jsonl":
        return fill_repo_licenses(jsonl.read_jsonl(unit.uri, config))
    if unit.kind == "parquet":
        return fill_repo_licenses(parquet.read_parquet(unit.uri, config))
    if unit.kind == "archive":
        return archive.read_archive(unit.uri, config, unit.repo_name, unit.license)
    if unit.kind == "repo_dir":
        repo = directory.RepoDir(unit.uri, unit.subdir, unit.repo_name or "", unit.top_only)
        return directory.read_repository(repo, config, unit.license)
    if unit.kind == "embedded":
        return embedded_corpus.read_distribution(unit.uri, config, list(unit.patterns) if unit.patterns else None)
    raise OpcError(f"unknown unit kind {unit.kind!r}")


def read_records(uri_or_source: Any = None, config: IngestConfig | None = None) -> Iterator[dict[str, Any]]:
    """Every raw record of one source (a URI string, a source model/dict), or of all config sources if None."""
    config = config or IngestConfig()
    for unit in plan_units(config, uri_or_source):
        yield from read_unit(unit, config)


def iter_batches(config: IngestConfig, batch_size: int = 1000, source: Any | None = None) -> Iterator[list[dict[str, Any]]]:
    """Records in lists of ``batch_size`` (the last one shorter), for shard-sized work."""
    batch: list[dict[str, Any]] = []
    for record in read_records(source, config):
        batch.append(record)
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def _listing(uri: str) -> list[str]:
    """``path, size, ETag-or-mtime`` per file, from one listing call (no per-file HEAD requests on S3)."""
    fs, path = storage.filesystem(uri)
    if any(c in uri for c in "*?["):
        infos = fs.glob(path, detail=True)
    elif fs.isdir(path):
        infos = fs.find(path, detail=True)
    else:
        infos = {path: fs.info(path)}
    lines = []
    for p in sorted(infos):
        info = infos[p]
        if info.get("type", "file") != "file":
            continue
        stamp = info.get("ETag") or info.get("etag") or info.get("mtime") or info.get("LastModified") or ""
        lines.append(f"{p}\t{info.get('size')}\t{stamp}")
    return lines


def external_fingerprint(config: IngestConfig) -> str:
    """A cheap fingerprint of the sources for the content key: path/size/mtime (or S3 ETag) listings and the
    embedded distributions' versions and RECORD hashes. Contents are not read."""
    h = hashlib.sha256()
    for src in config.sources:
        if isinstance(src, EmbeddedSource):
            h.update(f"embedded\t{embedded_corpus.fingerprint(src)}\n".encode())
            continue
        uri = storage.normalize(src.uri)
        if not any(c in src.uri for c in "*?[") and not storage.exists(uri):
            raise OpcError("input not found", where=uri, hint="check the path (local or s3://bucket/key)")
        h.update(f"uri\t{uri}\n".encode())
        for line in _listing(uri):
            h.update(line.encode("utf-8", "surrogateescape") + b"\n")
    return h.hexdigest()
