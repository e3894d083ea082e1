"""One writer per stage output: an exclusive advisory lock beside ``<workdir>/<stage>/<key>/``.

    <workdir>/pretrain/.<key>.lock     {"pid": 4242, "host": "node-1", "since": "...", "command": "opc run pretrain"}

The runner takes it before a stage writes anything and lets it go after the manifest is written, so two
``opc run pretrain`` on the same key cannot interleave their ``metrics.jsonl``: the second one stops at
once with a message naming the owner. The lock file starts with ``.`` so ``opc status``/``gc`` skip it,
and lives outside the output folder so it is never part of the output's fingerprint.

Local workdirs use ``flock``: the kernel drops the lock when its owner dies (``kill -9`` included), so a
stale lock file (its owner gone) is simply taken over. Remote (``s3://``) workdirs have no ``flock``: the
lock is an object holding the owner; one whose owner ran on this host and is no longer alive is stale and
taken over; one from another host is reported with its URI so a person can delete it when that run is
known to be dead.

What it does NOT do: wait for the owner (a second writer is an error, not a queue), or protect readers
(a reader trusts only the manifest, which is written last).
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType

from opc_core import storage
from opc_core.errors import OpcError


def lock_uri(output_uri: str) -> str:
    parent, name = output_uri.rstrip("/").rsplit("/", 1)
    return storage.join(parent, f".{name}.lock")


def _owner_record() -> dict:
    return {"pid": os.getpid(), "host": socket.gethostname(),
            "since": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "command": " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))[:300]}


def _describe(owner: dict) -> str:
    return (f"pid {owner.get('pid', '?')} on host {owner.get('host', '?')} since {owner.get('since', '?')}"
            f" ({owner.get('command') or 'unknown command'})")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class OutputBusyError(OpcError):
    """Another process is writing this output."""


@dataclass
class OutputLock:
    """``with OutputLock(uri):`` holds the exclusive right to write ``uri``; raises OutputBusyError if taken."""

    output_uri: str
    _fd: int | None = None
    previous_owner: dict | None = None  # set when a stale lock (its owner dead) was taken over

    def __enter__(self) -> OutputLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()

    @property
    def uri(self) -> str:
        return lock_uri(self.output_uri)

    def _busy(self, owner: dict) -> OutputBusyError:
        return OutputBusyError(
            f"another process is writing this output: {_describe(owner)}",
            where=self.output_uri,
            hint=f"wait for it to finish (its output then becomes a cache hit), or stop it; the lock is {self.uri}",
        )

    def acquire(self) -> None:
        if storage.is_remote(self.output_uri):
            self._acquire_remote()
        else:
            self._acquire_local()

    def _acquire_local(self) -> None:
        import fcntl

        path = self.uri
        os.makedirs(os.path.dirname(path), exist_ok=True)
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                raise self._busy(self._read_owner_of_busy_lock(path)) from None
            try:  # the file we locked may have been unlinked by its previous owner meanwhile: retry
                if os.fstat(fd).st_ino != os.stat(path).st_ino:
                    os.close(fd)
                    continue
            except FileNotFoundError:
                os.close(fd)
                continue
            break
        previous = self._read_local(path)
        self.previous_owner = previous or None
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(_owner_record()) + "\n").encode(), 0)
        self._fd = fd

    @classmethod
    def _read_owner_of_busy_lock(cls, path: str, wait_s: float = 2.0) -> dict:
        """The owner record of a lock someone holds. The holder writes it right after taking the lock, so a
        reader that arrives in between sees an empty file: wait a moment for the record instead."""
        import time

        deadline = time.monotonic() + wait_s
        owner = cls._read_local(path)
        while not owner and time.monotonic() < deadline:
            time.sleep(0.05)
            owner = cls._read_local(path)
        return owner

    @staticmethod
    def _read_local(path: str) -> dict:
        try:
            with open(path, encoding="utf-8") as f:
                return json.loads(f.read() or "{}")
        except (OSError, ValueError):
            return {}

    def _acquire_remote(self) -> None:
        if storage.exists(self.uri):
            try:
                owner = storage.read_json(self.uri)
            except (OSError, ValueError):
                owner = {}
            same_host = owner.get("host") == socket.gethostname()
            if not (same_host and isinstance(owner.get("pid"), int) and not _pid_alive(owner["pid"])):
                raise self._busy(owner)
            self.previous_owner = owner
        storage.write_json_atomic(self.uri, _owner_record())
        self._fd = -1

    def release(self) -> None:
        if self._fd is None:
            return
        if self._fd == -1:
            storage.remove(self.uri)
        else:
            import fcntl

            try:  # unlink while still holding the lock; a waiter that opened the old inode retries
                os.unlink(self.uri)
            except FileNotFoundError:
                pass
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
        self._fd = None
