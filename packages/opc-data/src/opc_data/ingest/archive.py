"""``.tar``/``.tar.gz``/``.tgz``/``.tar.bz2``/``.tar.xz``/``.zip`` archives of repositories -> raw records.

Read in memory, member by member, never extracted to disk (local or s3://). Layout as for directories:
every top-level folder is a repository; top-level files form a repository named after the archive
(``repo.tar.gz`` -> ``repo``); with ``repo_name`` in the source the whole archive is that repository.
Members under ``skip_dirs`` (``.git`` ...) and folder entries are not files and yield nothing.

Refused with a reason (a quarantined record each; the run goes on):
  * path traversal: absolute names, drive letters, ``..`` components  -> ``unsafe_path``
  * symbolic and hard links                                          -> ``link``
  * devices, FIFOs                                                   -> ``unreadable``
  * a zip member whose declared size is over ``max_file_bytes``        -> ``oversize`` (not decompressed)
  * a zip member expanding more than ``max_ratio`` x (past ``ratio_min_bytes``) or beyond its declared
    size                                                             -> ``zip_bomb`` (not decompressed)
  * zip members past the archive's ``max_total_bytes`` budget          -> ``archive_limit``
  * encrypted or corrupt zip members                                 -> ``unreadable``

Errors (the archive as a whole cannot be trusted; ``OpcError`` naming it):
  * not an archive / truncated / corrupt stream; more than ``max_members`` members
  * a tar stream that expands past ``max_total_bytes`` or more than ``max_ratio`` x its compressed bytes
    (a tar stream cannot be skipped around, so a bomb stops the read)
"""

from __future__ import annotations

import posixpath
import re
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from typing import Any

from opc_core import storage
from opc_core.errors import OpcError
from opc_data.encoding import ARCHIVE_LIMIT, LINK, UNREADABLE, UNSAFE_PATH, ZIP_BOMB, reason
from opc_data.ingest.config import IngestConfig
from opc_data.ingest.file_record import blob_id_of_stream, oversize_record, record_from_bytes, refused_record
from opc_data.licenses import is_license_file, license_from_files

TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
ZIP_SUFFIXES = (".zip",)
SUFFIXES = TAR_SUFFIXES + ZIP_SUFFIXES
LICENSE_READ_LIMIT = 256 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")


def archive_stem(uri: str) -> str:
    name = uri.rstrip("/").rsplit("/", 1)[-1]
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def is_unsafe(name: str) -> bool:
    """Would extracting this member name write outside the target folder?"""
    norm = name.replace("\\", "/")
    return norm.startswith("/") or bool(_DRIVE.match(norm)) or ".." in norm.split("/")


def split_member(name: str, stem: str, repo_name: str | None) -> tuple[str, str]:
    """Member name -> (repository, path inside it)."""
    norm = posixpath.normpath(name.replace("\\", "/"))
    norm = "" if norm == "." else norm
    if repo_name:
        return repo_name, norm
    if "/" in norm:
        top, rest = norm.split("/", 1)
        return top, rest
    return stem, norm


def _skipped(path: str, skip: set[str]) -> bool:
    return any(part in skip for part in path.split("/")[:-1])


# ------------------------------------------------------------------------------------------------ zip


def _zip_is_link(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def read_zip(uri: str, config: IngestConfig, repo_name: str | None = None, license: str | None = None) -> Iterator[dict[str, Any]]:
    limits = config.archive
    stem = archive_stem(uri)
    skip = set(config.skip_dirs)
    fs, path = storage.filesystem(uri)
    with fs.open(path, "rb") as f:
        try:
            zf = zipfile.ZipFile(f)
            infos = zf.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
            raise OpcError(f"not a readable zip archive (truncated or corrupt?): {exc}", where=uri) from exc
        if len(infos) > limits.max_members:
            raise OpcError(f"archive has {len(infos)} members > max_members {limits.max_members}", where=uri,
                           hint="raise stages.data.ingest.archive.max_members if this archive is genuine")
        licenses: dict[str, list[str]] = {}
        if license is None:
            for info in infos:
                if info.is_dir() or is_unsafe(info.filename) or _zip_is_link(info):
                    continue
                repo, rel = split_member(info.filename, stem, repo_name)
                if "/" not in rel and is_license_file(rel) and info.file_size <= LICENSE_READ_LIMIT:
                    try:
                        with zf.open(info) as m:
                            text = m.read(LICENSE_READ_LIMIT).decode("utf-8", "replace")
                        licenses.setdefault(repo, []).append(text)
                    except (zipfile.BadZipFile, RuntimeError, OSError, zlib.error):
                        continue
        repo_license = {repo: license_from_files(texts) for repo, texts in licenses.items()}
        total = 0
        for info in infos:
            if info.is_dir():
                continue
            if is_unsafe(info.filename):
                yield refused_record(repo_name=repo_name or stem, path=info.filename, source=uri,
                                     why=reason(UNSAFE_PATH, f"member name {info.filename!r} escapes the archive"),
                                     size=info.file_size, license=license)
                continue
            repo, rel = split_member(info.filename, stem, repo_name)
            if _skipped(rel, skip):
                continue
            lic = license or repo_license.get(repo)
            common = {"repo_name": repo, "path": rel, "source": uri, "license": lic}
            if _zip_is_link(info):
                target = zf.read(info) if info.file_size <= 4096 else b""
                yield refused_record(**common, data=target,
                                     why=reason(LINK, f"symbolic link to {target.decode('utf-8', 'replace')!r} refused"))
                continue
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > limits.ratio_min_bytes and ratio > limits.max_ratio:
                yield refused_record(**common, size=info.file_size, why=reason(
                    ZIP_BOMB, f"member expands {ratio:.0f}x ({info.compress_size} -> {info.file_size} bytes) "
                              f"> max_ratio {limits.max_ratio:g}"))
                continue
            total += info.file_size
            if total > limits.max_total_bytes:
                yield refused_record(**common, size=info.file_size, why=reason(
                    ARCHIVE_LIMIT, f"archive expands past max_total_bytes {limits.max_total_bytes}"))
                continue
            try:
                with zf.open(info) as m:
                    if info.file_size > config.max_file_bytes:
                        blob = blob_id_of_stream(m, info.file_size)
                        yield oversize_record(**common, size=info.file_size, blob_id=blob, config=config)
                        continue
                    data = m.read(info.file_size + 1)
            except (zipfile.BadZipFile, RuntimeError, OSError, zlib.error, EOFError) as exc:
                yield refused_record(**common, size=info.file_size,
                                     why=reason(UNREADABLE, f"corrupt or encrypted member: {exc}"[:300]))
                continue
            if len(data) > info.file_size:
                yield refused_record(**common, size=info.file_size, why=reason(
                    ZIP_BOMB, f"member expands beyond its declared size {info.file_size}"))
                continue
            yield record_from_bytes(**common, data=data, config=config)


# ------------------------------------------------------------------------------------------------ tar


class _CountingReader:
    """Wraps the compressed byte stream to know how many compressed bytes were consumed (bomb ratio)."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.consumed = 0

    def read(self, n: int = -1) -> bytes:
        block = self.raw.read(n)
        self.consumed += len(block)
        return block


def _open_tar(uri: str) -> tuple[Any, _CountingReader, tarfile.TarFile]:
    fs, path = storage.filesystem(uri)
    raw = fs.open(path, "rb")
    counter = _CountingReader(raw)
    try:
        tf = tarfile.open(fileobj=counter, mode="r|*")  # type: ignore[call-overload]
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raw.close()
        raise OpcError(f"not a readable tar archive (truncated or corrupt?): {exc}", where=uri) from exc
    return raw, counter, tf


def _tar_licenses(uri: str, stem: str, repo_name: str | None) -> dict[str, str | None]:
    raw, _, tf = _open_tar(uri)
    out: dict[str, list[str]] = {}
    with raw, tf:
        try:
            for m in tf:
                if not m.isreg() or is_unsafe(m.name) or m.size > LICENSE_READ_LIMIT:
                    continue
                repo, rel = split_member(m.name, stem, repo_name)
                if "/" in rel or not is_license_file(rel):
                    continue
                fobj = tf.extractfile(m)
                if fobj is not None:
                    out.setdefault(repo, []).append(fobj.read().decode("utf-8", "replace"))
        except (tarfile.TarError, OSError, EOFError, zlib.error):
            pass  # the main pass reports the corruption with its position
    return {repo: license_from_files(texts) for repo, texts in out.items()}


def read_tar(uri: str, config: IngestConfig, repo_name: str | None = None, license: str | None = None) -> Iterator[dict[str, Any]]:
    limits = config.archive
    stem = archive_stem(uri)
    skip = set(config.skip_dirs)
    licenses = {} if license is not None else _tar_licenses(uri, stem, repo_name)
    raw, counter, tf = _open_tar(uri)
    members = 0
    expanded = 0
    last = "(start)"
    with raw, tf:
        try:
            for m in tf:
                members += 1
                expanded += m.size + 512
                if members > limits.max_members:
                    raise OpcError(f"archive has more than max_members {limits.max_members} members", where=uri)
                if expanded > limits.max_total_bytes:
                    raise OpcError(f"archive expands past max_total_bytes {limits.max_total_bytes} (zip bomb?)",
                                   where=uri, hint="raise stages.data.ingest.archive.max_total_bytes if genuine")
                ratio = expanded / max(counter.consumed, 1)
                if expanded > limits.ratio_min_bytes and ratio > limits.max_ratio:
                    raise OpcError(
                        f"archive expands {ratio:.0f}x its compressed size after {members} members "
                        f"> max_ratio {limits.max_ratio:g} (zip bomb?)", where=uri,
                        hint="raise stages.data.ingest.archive.max_ratio if this archive is genuine")
                last = m.name
                if m.isdir():
                    continue
                if is_unsafe(m.name):
                    yield refused_record(repo_name=repo_name or stem, path=m.name, source=uri, size=m.size,
                                         why=reason(UNSAFE_PATH, f"member name {m.name!r} escapes the archive"),
                                         license=license)
                    continue
                repo, rel = split_member(m.name, stem, repo_name)
                if _skipped(rel, skip):
                    continue
                common = {"repo_name": repo, "path": rel, "source": uri,
                          "license": license or licenses.get(repo)}
                if m.issym() or m.islnk():
                    kind = "symbolic" if m.issym() else "hard"
                    yield refused_record(**common, data=m.linkname.encode("utf-8", "surrogateescape"),
                                         why=reason(LINK, f"{kind} link to {m.linkname!r} refused"))
                    continue
                if not m.isreg():
                    yield refused_record(**common, why=reason(UNREADABLE, "not a regular file (device or FIFO)"))
                    continue
                fobj = tf.extractfile(m)
                if fobj is None:
                    yield refused_record(**common, size=m.size, why=reason(UNREADABLE, "member has no data"))
                    continue
                if m.size > config.max_file_bytes:
                    blob = blob_id_of_stream(fobj, m.size)
                    yield oversize_record(**common, size=m.size, blob_id=blob, config=config)
                    continue
                yield record_from_bytes(**common, data=fobj.read(), config=config)
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            raise OpcError(
                f"truncated or corrupt archive after member {last!r} ({members} members read): {exc}", where=uri,
                hint="re-create or re-download the archive",
            ) from exc


def read_archive(uri: str, config: IngestConfig, repo_name: str | None = None, license: str | None = None) -> Iterator[dict[str, Any]]:
    if uri.lower().endswith(ZIP_SUFFIXES):
        return read_zip(uri, config, repo_name, license)
    return read_tar(uri, config, repo_name, license)
