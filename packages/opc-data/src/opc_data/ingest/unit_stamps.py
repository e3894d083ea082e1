"""Cheap per-unit fingerprints ("stamps"): what an incremental data run compares to find the new units.

    record file / archive   size + ETag-or-mtime, from one ``fs.info``
    repository folder       SHA-256 of its listing (relative path, size, ETag-or-mtime per file; a
                            ``top_only`` container: its top-level files only)
    embedded distribution   version + the RECORD lines (path, size, hash) of the selected files

A unit is "already ingested" when its (label, stamp) pair is in the previous output's
``ingested_units.json``; a changed file (new size or mtime) has a new stamp and is read again.
Nothing is read but listings and metadata; no absolute path enters a stamp (labels are the unit URIs,
as ``sources`` already records them).

What it does NOT do: hash contents, or decide anything (``opc_data.incremental`` does).
"""

from __future__ import annotations

import hashlib
from typing import Any

from opc_core import storage


def _info_stamp(info: dict[str, Any]) -> str:
    when = info.get("ETag") or info.get("etag") or info.get("mtime") or info.get("LastModified") or ""
    return f"{info.get('size')}:{when}"


def _listing_hash(base_uri: str, top_only: bool, skip: tuple[str, ...] = ()) -> str:
    fs, base = storage.filesystem(base_uri)
    base = base.rstrip("/")
    if top_only:
        infos = {i["name"]: i for i in fs.ls(base, detail=True)}
    else:
        infos = fs.find(base, detail=True)
    h = hashlib.sha256()
    for p in sorted(infos):
        info = infos[p]
        if info.get("type", "file") != "file":
            continue
        rel = p[len(base):].lstrip("/") if p.startswith(base) else p
        if skip and any(part in skip for part in rel.split("/")[:-1]):
            continue  # not read by the ingest (``skip_dirs``), so not part of the unit
        h.update(f"{rel}\t{_info_stamp(info)}\n".encode("utf-8", "surrogateescape"))
    return "listing:" + h.hexdigest()


def _embedded_stamp(name: str, patterns: tuple[str, ...] | None) -> str:
    from opc_data.ingest import embedded_corpus

    dist = embedded_corpus.distribution(name)
    pats = list(patterns) if patterns else None
    h = hashlib.sha256()
    for f in sorted(dist.files or [], key=lambda p: p.as_posix()):
        if embedded_corpus._selected(f.as_posix(), pats):
            h.update(f"{f.as_posix()} {f.size} {f.hash.value if f.hash else ''}\n".encode())
    return f"{embedded_corpus.canonical(name)}=={dist.version}:{h.hexdigest()}"


def unit_stamp(unit: Any, skip_dirs: tuple[str, ...] | list[str] = ()) -> str:
    """The stamp of one ``SourceUnit`` (module doc); ``skip_dirs``: folders a repository's ingest skips."""
    if unit.kind == "embedded":
        return _embedded_stamp(unit.uri, unit.patterns)
    if unit.kind == "repo_dir":
        base = storage.join(unit.uri, unit.subdir) if unit.subdir else unit.uri
        return _listing_hash(base, unit.top_only, tuple(skip_dirs))
    fs, path = storage.filesystem(unit.uri)
    return "file:" + _info_stamp(fs.info(path))


def unit_entry(unit: Any, data_key: str, skip_dirs: tuple[str, ...] | list[str] = ()) -> dict[str, str]:
    """One ``ingested_units.json`` entry: the unit, its stamp and the data output that ingested it."""
    return {"label": unit.label, "kind": unit.kind, "stamp": unit_stamp(unit, skip_dirs), "data_key": data_key}
