"""The embedded default raw dump: source files of distributions installed in the project's own virtualenv.

    recipe: {kind: embedded, distributions: [requests, click, ...]}
        └─▶ importlib.metadata.distribution(name)  ── RECORD file list ──▶ one repository per distribution

Why: ``recipes/tiny.yaml`` must run offline on any machine after ``make``; the lock file pins every
distribution's version, so the same list gives the same files on every machine — real code, never
fabricated. Each distribution is one repository: ``repo_name = "pypi/<name>-<version>"``, paths are the
RECORD paths (``requests/api.py``, ``requests-2.34.2.dist-info/licenses/LICENSE``), licence from the
metadata the authors declared (``License-Expression``, ``License``, licence classifiers), else the
fingerprints of the distribution's licence files.

Which files: the RECORD entries matching the source's ``include`` patterns for that distribution (all
when it has none), except byte code and compiled extensions (``.pyc``, ``.so``, ``.pyd``,
``.dll``, ``.dylib``: platform-specific, so they would make the corpus differ between machines), files
outside site-packages (scripts in ``bin/``), and the ``.dist-info`` bookkeeping (RECORD, METADATA, WHEEL,
INSTALLER, ...) — licence files inside ``.dist-info`` are kept, like a repository's LICENSE. Order:
distributions in recipe order, files sorted by path.

What it does NOT do: download anything, or read distributions that are not installed (a clear error names
them and says to run ``make``).
"""

from __future__ import annotations

import fnmatch
import hashlib
import importlib.metadata as md
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opc_core.errors import OpcError
from opc_data.ingest.config import EmbeddedSource, IngestConfig
from opc_data.ingest.file_record import oversize_record, record_from_bytes, refused_record
from opc_data.licenses import is_license_file, license_from_files, license_from_metadata
from opc_data.records import git_blob_id

COMPILED = re.compile(r"\.(pyc|pyo|so|pyd|dll|dylib|a|lib|exe)$|\.so(\.\d+)+$", re.IGNORECASE)
SOURCE_PREFIX = "embedded:"


@dataclass(frozen=True)
class DistFile:
    rel: str  # RECORD path, "/"-separated
    location: Path
    size: int


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def distribution(name: str) -> md.Distribution:
    try:
        return md.distribution(name)
    except md.PackageNotFoundError as exc:
        raise OpcError(
            f"distribution {name!r} of the embedded corpus is not installed in this environment",
            where="stages.data.ingest.sources[embedded].distributions",
            hint="run `make` to install the project's lock file, or remove the name from the recipe",
        ) from exc


def _selected(rel: str, patterns: list[str] | None = None) -> bool:
    parts = rel.split("/")
    if parts[0] == ".." or "__pycache__" in parts or COMPILED.search(rel):
        return False
    if parts[0].endswith((".dist-info", ".egg-info")):
        return any(is_license_file(p) for p in parts[1:]) or (len(parts) > 2 and parts[1] == "licenses")
    if patterns is not None:
        return any(fnmatch.fnmatchcase(rel, p) for p in patterns)
    return True


def include_patterns(source: EmbeddedSource | None, name: str) -> list[str] | None:
    if source is None:
        return None
    for key, pats in source.include.items():
        if canonical(key) == canonical(name):
            return pats
    return None


def distribution_files(dist: md.Distribution, patterns: list[str] | None = None) -> list[DistFile]:
    """The files of one distribution that enter the corpus, sorted by path (see module docstring)."""
    name = dist.metadata["Name"]
    if dist.files is None:
        raise OpcError(f"distribution {name!r} has no RECORD file list", where="embedded corpus",
                       hint="reinstall it with pip (editable or egg installs carry no RECORD)")
    out = []
    for f in dist.files:
        rel = f.as_posix()
        if not _selected(rel, patterns):
            continue
        location = Path(dist.locate_file(f))
        try:
            size = location.lstat().st_size
        except OSError:
            size = -1  # listed in RECORD but missing on disk: recorded as unreadable below
        out.append(DistFile(rel, location, size))
    return sorted(out, key=lambda d: d.rel)


def repo_name_of(dist: md.Distribution) -> str:
    return f"pypi/{canonical(dist.metadata['Name'])}-{dist.version}"


def distribution_license(dist: md.Distribution, files: list[DistFile]) -> str | None:
    """Metadata first (License-Expression, a short License name, licence classifiers: declared by the
    authors), else fingerprints of the distribution's licence files (which may cover bundled third-party
    parts, e.g. matplotlib's font licences, so they are the weaker evidence here)."""
    declared = license_from_metadata(dist.metadata)
    if declared:
        return declared
    texts = []
    for f in files:
        if is_license_file(f.rel.rsplit("/", 1)[-1]) and 0 <= f.size <= 256 * 1024:
            try:
                texts.append(f.location.read_text("utf-8", "replace"))
            except OSError:
                continue
    return license_from_files(texts)


def check_budget(source: EmbeddedSource) -> int:
    """Total bytes of the selected files; an error if over ``max_total_bytes`` (the corpus must stay small)."""
    total = 0
    sizes = {}
    for name in source.distributions:
        patterns = include_patterns(source, name)
        files = distribution_files(distribution(name), patterns)
        if patterns is not None and not any(".dist-info/" not in f.rel for f in files):
            raise OpcError(
                f"include patterns {patterns} of distribution {name!r} match no file",
                where="stages.data.ingest.sources[embedded].include",
                hint="file names change between versions: check the patterns against the installed RECORD",
            )
        n = sum(max(f.size, 0) for f in files)
        sizes[name] = n
        total += n
    if total > source.max_total_bytes:
        biggest = sorted(sizes.items(), key=lambda kv: -kv[1])[:5]
        raise OpcError(
            f"embedded corpus would be {total} bytes > max_total_bytes {source.max_total_bytes}; largest: {biggest}",
            where="stages.data.ingest.sources[embedded]",
            hint="drop large distributions from the list or raise max_total_bytes",
        )
    return total


def read_distribution(name: str, config: IngestConfig, patterns: list[str] | None = None) -> Iterator[dict[str, Any]]:
    """Every selected file of one installed distribution as a raw record (``patterns``: see ``include``)."""
    dist = distribution(name)
    files = distribution_files(dist, patterns)
    repo = repo_name_of(dist)
    lic = distribution_license(dist, files)
    source = f"{SOURCE_PREFIX}{canonical(dist.metadata['Name'])}=={dist.version}"
    for f in files:
        common = {"repo_name": repo, "path": f.rel, "source": source, "license": lic}
        if f.size < 0:
            yield refused_record(**common, why="unreadable: listed in RECORD but missing on disk")
            continue
        if f.size > config.max_file_bytes:
            data = f.location.read_bytes()
            yield oversize_record(**common, size=f.size, blob_id=git_blob_id(data), config=config)
            continue
        try:
            data = f.location.read_bytes()
        except OSError as exc:
            yield refused_record(**common, why=f"unreadable: {exc}"[:300])
            continue
        yield record_from_bytes(**common, data=data, config=config)


def fingerprint(source: EmbeddedSource) -> str:
    """Names, versions and the RECORD hashes of the selected files (cheap; platform-independent, since
    compiled extensions are not selected; changes when the lock file does)."""
    h = hashlib.sha256()
    for name in source.distributions:
        dist = distribution(name)
        patterns = include_patterns(source, name)
        h.update(f"{canonical(name)}=={dist.version} {patterns}\n".encode())
        for f in sorted(dist.files or [], key=lambda p: p.as_posix()):
            if _selected(f.as_posix(), patterns):
                digest = f.hash.value if f.hash else ""
                h.update(f"{f.as_posix()} {f.size} {digest}\n".encode())
    return h.hexdigest()
