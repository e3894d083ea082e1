"""Directories of repositories (local or s3://) -> raw records, one repository at a time.

Layout: every top-level folder of the directory is a repository (``repo_name`` = folder name); files lying
directly at the top level form a repository named after the directory itself. With ``repo_name`` given in
the source, the whole tree is that one repository. Inside a repository, files are read in sorted path order;
``skip_dirs`` (``.git`` ...) are not entered.

Refused, but recorded (a quarantined record each, nothing silently skipped):
  * symbolic links (files or folders) -> ``link: symbolic link to '<target>' not followed`` (blob_id = git's
    id of the link, i.e. of its target string, as git stores it)
  * sockets, FIFOs, devices            -> ``unreadable: not a regular file``
  * files that cannot be read          -> ``unreadable: <error>``
  * files over ``max_file_bytes``      -> ``oversize`` (content not read; blob id streamed in chunks)

Licence: the source's ``license`` if given, else the repository's root LICENSE/COPYING files (``licenses.py``).
S3 has no links or special files; its "folders" are key prefixes.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opc_core import storage
from opc_core.errors import OpcError
from opc_data.encoding import LINK, UNREADABLE, reason
from opc_data.ingest.config import IngestConfig
from opc_data.ingest.file_record import blob_id_of_stream, oversize_record, record_from_bytes, refused_record
from opc_data.licenses import is_license_file, license_from_files

LICENSE_READ_LIMIT = 256 * 1024


@dataclass(frozen=True)
class Entry:
    rel: str  # path inside the repository, "/"-separated
    kind: str  # "file" | "link" | "other"
    size: int
    location: str  # absolute local path or path inside the remote filesystem
    link_target: str = ""


def _scan_local(base: Path, prefix: str, skip: set[str], top_only: bool) -> Iterator[Entry]:
    try:
        entries = sorted(os.scandir(base), key=lambda e: e.name)
    except OSError as exc:
        raise OpcError(f"cannot list directory: {exc}", where=str(base)) from exc
    for e in entries:
        rel = f"{prefix}{e.name}"
        try:
            st = e.stat(follow_symlinks=False)
        except OSError:
            yield Entry(rel, "other", 0, e.path)
            continue
        if stat.S_ISLNK(st.st_mode):
            yield Entry(rel, "link", 0, e.path, os.readlink(e.path))
        elif stat.S_ISDIR(st.st_mode):
            if top_only or e.name in skip:
                continue
            yield from _scan_local(Path(e.path), f"{rel}/", skip, top_only)
        elif stat.S_ISREG(st.st_mode):
            yield Entry(rel, "file", st.st_size, e.path)
        else:
            yield Entry(rel, "other", 0, e.path)


def _scan_remote(fs: Any, root: str, skip: set[str]) -> Iterator[Entry]:
    root = root.rstrip("/")
    found = fs.find(root, detail=True)
    for path in sorted(found):
        info = found[path]
        if info.get("type", "file") != "file":
            continue
        rel = path[len(root):].lstrip("/")
        if not rel or any(part in skip for part in rel.split("/")[:-1]):
            continue
        yield Entry(rel, "file", int(info.get("size") or 0), path)


@dataclass(frozen=True)
class RepoDir:
    """One repository inside a directory source: ``subdir`` "" + ``top_only`` = the loose top-level files."""

    root: str
    subdir: str
    repo_name: str
    top_only: bool = False


def list_repositories(root_uri: str, config: IngestConfig, repo_name: str | None = None) -> list[RepoDir]:
    """The repositories of a directory source, sorted by name (one unit of parallel work each)."""
    root_uri = storage.normalize(root_uri)
    base_name = root_uri.rstrip("/").rsplit("/", 1)[-1]
    if repo_name:
        return [RepoDir(root_uri, "", repo_name)]
    fs, root = storage.filesystem(root_uri)
    skip = set(config.skip_dirs)
    repos: list[RepoDir] = []
    loose = False
    if storage.is_remote(root_uri):
        tops = set()
        for rel in storage.list_files(root_uri):
            if "/" in rel:
                tops.add(rel.split("/", 1)[0])
            else:
                loose = True
        repos = [RepoDir(root_uri, t, t) for t in sorted(tops - skip)]
    else:
        for e in sorted(os.scandir(root), key=lambda e: e.name):
            if e.is_dir(follow_symlinks=False):
                if e.name not in skip:
                    repos.append(RepoDir(root_uri, e.name, e.name))
            else:
                loose = True  # regular files, links and special files at the top level
    if loose:
        repos.append(RepoDir(root_uri, "", base_name, top_only=True))
    return repos


def _license_of(entries: list[Entry], read: Any) -> str | None:
    texts = []
    for e in entries:
        if e.kind == "file" and "/" not in e.rel and is_license_file(e.rel) and e.size <= LICENSE_READ_LIMIT:
            try:
                texts.append(read(e).decode("utf-8", "replace"))
            except OSError:
                continue
    return license_from_files(texts)


def read_repository(repo: RepoDir, config: IngestConfig, license: str | None = None) -> Iterator[dict[str, Any]]:
    """Every entry of one repository folder as a raw record (see module docstring for refusals)."""
    fs, root = storage.filesystem(repo.root)
    remote = storage.is_remote(repo.root)
    skip = set(config.skip_dirs)
    base = f"{root.rstrip('/')}/{repo.subdir}" if repo.subdir else root
    if remote:
        entries = list(_scan_remote(fs, base, skip))
        if repo.top_only:
            entries = [e for e in entries if "/" not in e.rel]
    else:
        entries = list(_scan_local(Path(base), "", skip, repo.top_only))
    source = repo.root

    def read(e: Entry) -> bytes:
        with fs.open(e.location, "rb") as f:
            return f.read()

    repo_license = license or _license_of(entries, read)
    for e in entries:
        common = {"repo_name": repo.repo_name, "path": e.rel, "source": source}
        if e.kind == "link":
            yield refused_record(
                **common, why=reason(LINK, f"symbolic link to {e.link_target!r} not followed"),
                data=os.fsencode(e.link_target), license=repo_license,
            )
            continue
        if e.kind == "other":
            yield refused_record(**common, why=reason(UNREADABLE, "not a regular file"), license=repo_license)
            continue
        try:
            if e.size > config.max_file_bytes:
                with fs.open(e.location, "rb") as f:
                    blob = blob_id_of_stream(f, e.size)
                yield oversize_record(**common, size=e.size, blob_id=blob, config=config, license=repo_license)
                continue
            data = read(e)
        except OSError as exc:
            yield refused_record(**common, why=reason(UNREADABLE, str(exc)[:300]), size=e.size, license=repo_license)
            continue
        yield record_from_bytes(**common, data=data, config=config, license=repo_license)
