"""Storage: every path in the cookbook is an fsspec URI (a local path or ``s3://bucket/key``).

One layer for all stages. Credentials never pass through recipes or manifests: s3fs reads them from
the environment (``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN`` or an AWS
profile); the endpoint of an S3-compatible server (MinIO, moto, Ceph) comes from ``AWS_ENDPOINT_URL``
or ``OPC_S3_ENDPOINT_URL``. Local writes are atomic (temp name + rename); on S3 an object appears
whole when its upload completes, so "write the manifest last" gives the same guarantee.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import posixpath
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import fsspec
from fsspec.spec import AbstractFileSystem

from opc_core.errors import OpcError
from opc_core.remote_errors import explain

# Bounded S3 requests: a wrong endpoint or a dead server fails within ~30 s instead of retrying for minutes.
S3_CONNECT_TIMEOUT_S = 5
S3_READ_TIMEOUT_S = 60
S3_ATTEMPTS = 2


def is_remote(uri: str) -> bool:
    return "://" in uri and not uri.startswith("file://")


def normalize(uri: str) -> str:
    """Absolute local path, or the URI unchanged for remote ones."""
    if uri.startswith("file://"):
        uri = uri[len("file://") :]
    if is_remote(uri):
        return uri.rstrip("/")
    return str(Path(uri).expanduser().resolve())


def _storage_options(protocol: str) -> dict[str, Any]:
    if protocol in ("s3", "s3a"):
        endpoint = os.environ.get("OPC_S3_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL")
        options: dict[str, Any] = {
            "config_kwargs": {"connect_timeout": S3_CONNECT_TIMEOUT_S, "read_timeout": S3_READ_TIMEOUT_S,
                              "retries": {"max_attempts": S3_ATTEMPTS, "mode": "standard"}},
            # no listing cache: a long-lived process (the Prefect server's scheduled retrain, a notebook) must
            # see the dumps that arrived since its last listing; a cached one hid them (and made info() fail)
            "use_listings_cache": False,
        }
        if endpoint:
            options["endpoint_url"] = endpoint
        return options
    return {}


def filesystem(uri: str) -> tuple[AbstractFileSystem, str]:
    """The filesystem for ``uri`` and the path inside it."""
    uri = normalize(uri)
    protocol = uri.split("://", 1)[0] if is_remote(uri) else "file"
    try:
        fs, path = fsspec.core.url_to_fs(uri, **_storage_options(protocol))
    except (ImportError, ValueError) as exc:
        raise OpcError(f"cannot open storage for {uri!r}: {exc}", hint="use a local path or s3://bucket/prefix") from exc
    return fs, path


@contextlib.contextmanager
def remote_errors(uri: str) -> Iterator[None]:
    """Inside, a failed request to remote ``uri`` becomes one actionable line naming it (remote_errors).

    For code that works on ``filesystem(uri)``'s object directly; the functions below do this themselves.
    """
    try:
        yield
    except OpcError:
        raise
    except Exception as exc:
        explained = explain(exc, uri) if is_remote(uri) else None
        if explained is None:
            raise
        raise explained from exc


def _explained(func: Callable) -> Callable:
    @functools.wraps(func)
    def wrapper(uri, *args, **kwargs):
        target = args[0] if func.__name__ == "upload_dir" else uri
        with remote_errors(str(target)):
            return func(uri, *args, **kwargs)

    return wrapper


def join(base: str, *parts: str) -> str:
    if is_remote(base):
        return posixpath.join(base, *parts)
    return str(Path(base, *parts))


def to_uri(fs: AbstractFileSystem, path: str) -> str:
    """Turn a path inside ``fs`` back into a URI (``fs.find`` drops the protocol)."""
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    if protocol in ("file", "local"):
        return path
    return f"{protocol}://{path}"


@_explained
def exists(uri: str) -> bool:
    fs, path = filesystem(uri)
    return fs.exists(path)


@_explained
def makedirs(uri: str) -> None:
    fs, path = filesystem(uri)
    if not is_remote(uri):
        fs.makedirs(path, exist_ok=True)


@_explained
def read_bytes(uri: str) -> bytes:
    fs, path = filesystem(uri)
    with fs.open(path, "rb") as f:
        return f.read()


def read_text(uri: str) -> str:
    return read_bytes(uri).decode("utf-8")


@_explained
def write_bytes_atomic(uri: str, data: bytes) -> None:
    """Write all of ``data`` or nothing: a reader never sees a half-written file."""
    fs, path = filesystem(uri)
    if is_remote(uri):
        with fs.open(path, "wb") as f:  # an S3 object becomes visible only when complete
            f.write(data)
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, target)


def umask_permissions(path: str | Path) -> None:
    """Give a local file the mode ``open()`` would (0666 minus the umask).

    For writers that pick their own mode: safetensors' ``save_file`` creates 0600 files, so a released
    ``model.safetensors`` would be the one file other users cannot read.
    """
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


def write_text_atomic(uri: str, text: str) -> None:
    write_bytes_atomic(uri, text.encode("utf-8"))


def write_json_atomic(uri: str, obj: Any) -> None:
    write_text_atomic(uri, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def read_json(uri: str) -> Any:
    return json.loads(read_text(uri))


@_explained
def list_files(uri: str) -> list[str]:
    """Every file under ``uri`` as paths relative to it, sorted (stable across filesystems)."""
    fs, root = filesystem(uri)
    if not fs.exists(root):
        return []
    root = root.rstrip("/")
    out = []
    for path in fs.find(root):
        rel = path[len(root) :].lstrip("/")
        if rel:
            out.append(rel)
    return sorted(out)


@_explained
def remove(uri: str) -> None:
    fs, path = filesystem(uri)
    if fs.exists(path):
        fs.rm(path, recursive=True)


@_explained
def upload_dir(local_dir: str | Path, uri: str) -> None:
    """Copy a local directory tree to ``uri`` (local or remote), file by file."""
    local_dir = Path(local_dir)
    for file in sorted(p for p in local_dir.rglob("*") if p.is_file()):
        write_bytes_atomic(join(uri, file.relative_to(local_dir).as_posix()), file.read_bytes())


@_explained
def download_dir(uri: str, local_dir: str | Path) -> Path:
    """Copy a tree at ``uri`` to a local directory (a no-op copy for local sources is avoided by callers)."""
    local_dir = Path(local_dir)
    for rel in list_files(uri):
        dest = local_dir / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(read_bytes(join(uri, rel)))
    return local_dir
