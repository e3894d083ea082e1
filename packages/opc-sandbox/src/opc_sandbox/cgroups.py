"""One memory limit and one process limit for a program and every process it starts: a cgroup per program.

Where it sits: ``opc_sandbox.sandbox`` (one-shot engine) and ``opc_sandbox.forkserver`` (warm engine) create a
``ProgramCgroup`` per program; the program's first process joins it before anything of the program runs
(``_isolation.join_cgroups``), so its children, daemons and fork bombs are counted together. RLIMIT_AS stays
on as a per-process guard (a single runaway process then gets a readable ``MemoryError``), but the sum is
what this module caps.

Layout: ``<our own cgroup>/opc-sandbox-<pid>/<program>/`` in

- cgroup v2 (``memory.max``, ``memory.swap.max`` 0, ``pids.max``), when our own cgroup can delegate the
  memory controller to a child; otherwise
- cgroup v1 (hybrid hierarchies, e.g. this project's machines): the ``memory`` hierarchy
  (``memory.limit_in_bytes`` and, where swap is accounted, ``memory.memsw.limit_in_bytes``) plus the ``pids``
  hierarchy when it is writable.

Found once per process (``support()``); directories left by a process that died (``opc-sandbox-<dead pid>``)
are removed then. What it does NOT do: limit CPU or I/O (RLIMIT_CPU and the timeout do), or work without
write access to the cgroup file system: then ``support()`` is None, ``probe()`` says so once, and the memory
limit is per process (RLIMIT_AS) only.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import logging
import os
import re
import secrets
import signal
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

log = logging.getLogger("opc.sandbox")

PREFIX = "opc-sandbox-"


@dataclass(frozen=True)
class Hierarchy:
    """One cgroup hierarchy we may write: ``base`` is this process's own parent directory for programs."""

    kind: str  # "v2" | "v1-memory" | "v1-pids"
    base: Path

    def limit_files(self, memory_bytes: int, processes: int) -> list[tuple[str, int, bool]]:
        """(file, value, required) in the order they must be written."""
        if self.kind == "v2":
            return [("memory.max", memory_bytes, True), ("memory.swap.max", 0, False),
                    ("pids.max", processes, False)]
        if self.kind == "v1-memory":
            return [("memory.limit_in_bytes", memory_bytes, True),
                    ("memory.memsw.limit_in_bytes", memory_bytes, False)]
        return [("pids.max", processes, True)]


@dataclass(frozen=True)
class Support:
    hierarchies: tuple[Hierarchy, ...]

    def describe(self) -> str:
        return " + ".join(h.kind for h in self.hierarchies)

    @property
    def has_pids(self) -> bool:
        return any(h.kind in ("v2", "v1-pids") for h in self.hierarchies)


def _mounts() -> list[tuple[str, str, str, str]]:
    """(root, mount point, fstype, super options) of every cgroup mount."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields, rfields = left.split(), right.split()
            if len(fields) >= 5 and len(rfields) >= 3 and rfields[0] in ("cgroup", "cgroup2"):
                out.append((fields[3], fields[4], rfields[0], rfields[2]))
    return out


def _own_paths() -> dict[str, str]:
    """Controller (or "" for v2) -> this process's cgroup path."""
    out = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for c in controllers.split(",") if controllers else [""]:
                out[c] = path
    return out


def _host_dir(mount_root: str, mount_point: str, own: str) -> Path | None:
    if own != mount_root and not own.startswith(mount_root.rstrip("/") + "/"):
        return None  # our cgroup is outside what this mount shows
    return Path(mount_point + own[len(mount_root.rstrip("/")):])


def _sweep_dead(parent: Path) -> None:
    """Remove what processes that died without cleaning up left here (empty cgroups only)."""
    for d in parent.glob(PREFIX + "*"):
        m = re.fullmatch(PREFIX + r"(\d+)", d.name)
        if not m or Path(f"/proc/{m.group(1)}").exists():
            continue
        for child in d.iterdir():
            if child.is_dir():
                with contextlib.suppress(OSError):
                    child.rmdir()
        with contextlib.suppress(OSError):
            d.rmdir()


def _make_base(parent: Path) -> Path:
    _sweep_dead(parent)
    base = parent / f"{PREFIX}{os.getpid()}"
    base.mkdir(exist_ok=True)
    return base


def _try_v2(mounts, own) -> Hierarchy | None:
    mp = next(((r, m) for r, m, t, _ in mounts if t == "cgroup2"), None)
    if mp is None or "" not in own:
        return None
    parent = _host_dir(mp[0], mp[1], own[""])
    if parent is None:
        return None
    try:
        if "memory" not in (parent / "cgroup.controllers").read_text().split():
            return None
        wanted = [c for c in ("memory", "pids") if c in (parent / "cgroup.controllers").read_text().split()]
        enabled = (parent / "cgroup.subtree_control").read_text().split()
        missing = " ".join(f"+{c}" for c in wanted if c not in enabled)
        if missing:  # fails (EBUSY) when our own cgroup holds processes and is not the root
            (parent / "cgroup.subtree_control").write_text(missing)
        base = _make_base(parent)
        (base / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in wanted))
    except OSError:
        return None
    return Hierarchy("v2", base)


def _try_v1(mounts, own, controller: str) -> Hierarchy | None:
    mp = next(((r, m) for r, m, t, o in mounts if t == "cgroup" and controller in o.split(",")), None)
    if mp is None or controller not in own:
        return None
    parent = _host_dir(mp[0], mp[1], own[controller])
    if parent is None:
        return None
    try:
        base = _make_base(parent)
    except OSError:
        return None
    return Hierarchy(f"v1-{controller}", base)


@lru_cache(maxsize=1)
def support() -> Support | None:
    """The writable hierarchies for per-program cgroups, found (and our base directories made) once."""
    try:
        mounts, own = _mounts(), _own_paths()
    except OSError:
        return None
    v2 = _try_v2(mounts, own)
    if v2 is not None:
        found: tuple[Hierarchy, ...] = (v2,)
    else:
        memory = _try_v1(mounts, own, "memory")
        if memory is None:
            return None
        pids = _try_v1(mounts, own, "pids")
        found = (memory,) if pids is None else (memory, pids)
    atexit.register(_remove_bases, found)
    return Support(found)


def _remove_bases(hierarchies: tuple[Hierarchy, ...]) -> None:
    for h in hierarchies:
        for child in h.base.iterdir() if h.base.is_dir() else ():
            if child.is_dir():
                _rmdir(child)
        with contextlib.suppress(OSError):
            h.base.rmdir()


_counter = itertools.count()


class ProgramCgroup:
    """The cgroups of one program (one per hierarchy). ``targets()`` says where its first process joins."""

    def __init__(self, support: Support, memory_mb: int, processes: int) -> None:
        self.name = f"p{next(_counter)}-{secrets.token_hex(4)}"
        self.dirs: list[Path] = []
        self.memory_dir: Path | None = None
        self.kinds: list[str] = []
        try:
            for h in support.hierarchies:
                d = h.base / self.name
                d.mkdir()
                self.dirs.append(d)
                self.kinds.append(h.kind)
                if h.kind in ("v2", "v1-memory"):
                    self.memory_dir = d
                for fname, value, required in h.limit_files(memory_mb << 20, processes):
                    try:
                        (d / fname).write_text(str(value))
                    except OSError:
                        if required:
                            raise
        except BaseException:
            self.remove()
            raise

    def targets(self) -> list[tuple[None, str]]:
        """Absolute cgroup directories for ``_isolation.join_cgroups`` (the one-shot engine)."""
        return [(None, str(d)) for d in self.dirs]

    def oom_kills(self) -> int:
        """How many of the program's processes the kernel killed for exceeding the memory limit."""
        if self.memory_dir is None:
            return 0
        for fname in ("memory.events", "memory.oom_control"):
            try:
                text = (self.memory_dir / fname).read_text()
            except OSError:
                continue
            m = re.search(r"^oom_kill (\d+)$", text, re.M)
            if m:
                return int(m.group(1))
        return 0

    def remove(self) -> None:
        for d in self.dirs:
            _rmdir(d)
        self.dirs = []


def _rmdir(d: Path) -> None:
    """Kill whatever is still in the cgroup (a process that escaped the namespace kill is impossible, but a
    dying one may linger a moment), then remove it; a cgroup that stays busy is left and logged."""
    for attempt in range(50):
        try:
            d.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            pass
        try:
            pids = [int(p) for p in (d / "cgroup.procs").read_text().split()]
        except OSError:
            pids = []
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.002 * (attempt + 1))
    log.warning("sandbox: could not remove cgroup %s (still busy)", d)

