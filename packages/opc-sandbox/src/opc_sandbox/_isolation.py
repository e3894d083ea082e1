"""The in-sandbox hardening both engines share: the mount view, IPC namespace, cgroup join, rlimits, uid drop.

Where it sits: ``_driver.py`` (one-shot engine, one process per program) and ``_forkserver.py`` (warm engine,
one forked child per program) run as root inside fresh PID/network/mount namespaces and call these functions
before the program starts, so a fix to the isolation lands once. The harness side (``opc_sandbox.sandbox``)
imports it too, for the rlimits and the cgroup join of the one-shot engine's ``preexec_fn``.

The view a program sees (``MountView``):

- /tmp, /var/tmp and /dev/shm are fresh, size-capped tmpfs mounts (its scratch, and its working directory
  ``/tmp/opc-sandbox/work``): nothing it writes reaches the host disk, and the next program sees none of it;
- every directory the interpreter needs (prefixes, stdlib, site-packages, the venv, the harness's own
  source) is bound back read-only at the same path, wherever it lives: under /tmp (a checkout or venv there
  would otherwise vanish under the scratch tmpfs) or under a private parent such as /root (mode 700; a small
  tmpfs hides the parent and only the needed subtrees are bound into it);
- every other mount is remounted read-only.

What it does NOT do: create namespaces other than IPC (``unshare`` does that before we start), create or size
cgroups (the harness does, ``opc_sandbox.cgroups``), or decide verdicts. It must stay stdlib only: it is
imported by path by the two in-sandbox scripts, before any third-party path is known.
"""

import ctypes
import json
import linecache
import os
import resource
import sys
import types

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC = 1, 2, 4, 32, 4096, 16384
MNT_DETACH = 2
CLONE_NEWIPC = 0x08000000
PR_SET_NO_NEW_PRIVS = 38
SCRATCH = ("/tmp", "/var/tmp", "/dev/shm")
ROOT = "/tmp/opc-sandbox"
WORKDIR = ROOT + "/work"
PROGRAM = ROOT + "/program.py"

libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
libc.unshare.argtypes = [ctypes.c_int]


def mount(source, target: str, fstype, flags: int, data) -> None:
    if libc.mount(source, target.encode(), fstype, flags, data) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {target}: {os.strerror(err)}")


def remount_readonly(target: str) -> bool:
    """Make one mount point read-only; locked flags (nosuid/nodev) must be repeated on a remount."""
    flags = MS_REMOUNT | MS_BIND | MS_RDONLY
    return (libc.mount(None, target.encode(), None, flags, None) == 0
            or libc.mount(None, target.encode(), None, flags | MS_NOSUID | MS_NODEV, None) == 0)


def under(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip("/") + "/")


def hidden_ancestor(path: str) -> str | None:
    """The top-most ancestor of ``path`` that others cannot traverse (e.g. /root, mode 700), if any."""
    current = ""
    for part in os.path.abspath(path).split("/")[1:]:
        current += "/" + part
        try:
            if not os.stat(current).st_mode & 0o001:
                return current
        except OSError:
            return None
    return None


class MountView:
    """The program's file-system view. Build it once per mount namespace; ``fresh_scratch`` per program.

    The exposed directories are opened (``O_PATH``) at construction, before anything is mounted over
    them, so they can be bound back after a tmpfs hides their path (also for every later program).
    """

    def __init__(self, expose: list, tmpfs_mb: int) -> None:
        self.tmpfs_opts = f"size={int(tmpfs_mb)}m,mode=1777".encode()
        self.in_scratch: list = []  # (path, fd): bound back after every fresh scratch
        self.hidden: dict = {}  # private parent -> [(path, fd)]
        self.warnings: list = []
        for path in sorted({os.path.realpath(p) for p in expose if os.path.isdir(p)}, key=len):
            scratch = next((s for s in SCRATCH if under(path, s)), None)
            if scratch == path or (scratch and under(ROOT, path)):
                self.warnings.append(f"cannot expose {path}: it is (or holds) the program's own scratch")
                continue
            if any(under(path, p) for p, _ in self.in_scratch) or any(
                    under(path, p) for subs in self.hidden.values() for p, _ in subs):
                continue  # its parent is exposed already
            fd = os.open(path, os.O_PATH | os.O_DIRECTORY)
            if scratch:
                self.in_scratch.append((path, fd))
            else:
                top = hidden_ancestor(path)
                if top and top != path:
                    self.hidden.setdefault(top, []).append((path, fd))
                else:
                    os.close(fd)

    def build(self) -> list:
        """Hide private parents, mount the first scratch, make every other mount read-only. Returns warnings."""
        for top, subs in self.hidden.items():
            mount(b"tmpfs", top, b"tmpfs", MS_NOSUID | MS_NODEV, b"size=1m,mode=755")
            for path, fd in subs:
                self._bind(path, fd)
                os.close(fd)
        self.hidden = {}
        self.fresh_scratch(first=True)
        with open("/proc/self/mountinfo") as f:
            mounts = [line.split()[4] for line in f]
        # under the scratch dirs only our read-only bind-backs are reachable (host mounts there are covered)
        failed = [mp for mp in mounts if not any(under(mp, s) for s in SCRATCH)
                  and not mp.startswith(("/proc", "/dev")) and not remount_readonly(mp)]
        if failed:
            self.warnings.append("could not remount read-only: " + ", ".join(failed))
        return self.warnings

    def fresh_scratch(self, first: bool = False) -> None:
        """Replace the scratch tmpfs mounts (the old ones are detached: nothing written survives), then
        bind the exposed directories under them back, read-only."""
        for d in SCRATCH:
            if not os.path.isdir(d):
                continue
            if not first:
                libc.umount2(d.encode(), MNT_DETACH)
            mount(b"tmpfs", d, b"tmpfs", MS_NOSUID | MS_NODEV, self.tmpfs_opts)
        for path, fd in self.in_scratch:
            self._bind(path, fd)
            if not remount_readonly(path):
                raise OSError(0, f"could not make {path} read-only")

    @staticmethod
    def _bind(path: str, fd: int) -> None:
        os.makedirs(path, mode=0o755, exist_ok=True)
        mount(f"/proc/self/fd/{fd}".encode(), path, None, MS_BIND | MS_REC, None)


def new_ipc_namespace() -> None:
    """A private System V IPC namespace (shm, semaphores, message queues) for this process and its children:
    it dies with the program's last process, taking every segment the program left behind with it."""
    if libc.unshare(CLONE_NEWIPC) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"unshare(CLONE_NEWIPC): {os.strerror(err)}")


def write_workdir(root: str, source: str, files: dict, uid: int | None) -> tuple:
    """Create ``root``/program.py (root-owned, 0644) and ``root``/work (the program's, 0700) with ``files``
    (name -> base64) in it. Returns (program path, working directory)."""
    import base64

    workdir = os.path.join(root, "work")
    os.makedirs(workdir, mode=0o700, exist_ok=True)
    os.chmod(root, 0o755)
    for name, b64 in files.items():
        path = os.path.join(workdir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(base64.b64decode(b64))
    if uid is not None:
        for dirpath, _dirs, names in os.walk(workdir):
            os.chown(dirpath, uid, uid)
            for n in names:
                os.chown(os.path.join(dirpath, n), uid, uid)
    program = os.path.join(root, "program.py")
    with open(program, "w", encoding="utf-8") as f:
        f.write(source)
    os.chmod(program, 0o644)
    return program, workdir


def join_cgroups(targets: list) -> None:
    """Move this process into each cgroup: ``targets`` are (dir fd or None, cgroup dir relative to it).

    The fork server holds directory fds opened on the host before its namespaces were made (its own
    /sys/fs/cgroup is read-only); the one-shot engine passes absolute paths (dir fd None)."""
    for dir_fd, path in targets:
        fd = os.open(os.path.join(path, "cgroup.procs"), os.O_WRONLY, dir_fd=dir_fd)
        try:
            os.write(fd, b"0")
        finally:
            os.close(fd)


def set_limits(cpu_s: int, memory_bytes: int, file_bytes: int, processes: int | None) -> None:
    """Per-process rlimits. RLIMIT_NPROC only where it counts the sandbox uid (``processes`` not None)."""
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s))
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_bytes, file_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if processes is not None:
        resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))


def drop_privileges(uid: int, gid: int) -> None:
    """No supplementary groups, the unprivileged uid/gid, and no way back (``no_new_privs``)."""
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


def report(fd: int, kind: str, text: str) -> None:
    try:
        os.write(fd, (json.dumps({"kind": kind, "text": text}) + "\n").encode())
    except OSError:
        pass


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001 - closed or replaced by the program
            pass


def execute(source: str, program: str, module_name: str, report_fd: int, nonce: str) -> None:
    """Run the program as module ``module_name``; write the nonce to ``report_fd`` only if it returns.

    Never returns. A real module object is registered in ``sys.modules`` (``mock.patch(f"{__name__}.x")``
    works, as BigCodeBench needs). Anything that ends the program early (``sys.exit``, ``os._exit``, a signal,
    an exception) leaves no nonce, which the harness reads as a failure.
    """
    try:
        code = compile(source, program, "exec")
    except BaseException as e:  # noqa: BLE001 - SyntaxError and friends
        report(report_fd, "error", f"{type(e).__name__}: {e}")
        os._exit(1)
    linecache.cache[program] = (len(source), None, source.splitlines(True), program)
    module = types.ModuleType(module_name)
    module.__file__ = program
    sys.modules[module_name] = module
    report(report_fd, "start", "")
    # The program may monkeypatch os/json/builtins; keep our own references to what we need after it.
    write, exit_now, marker, fd = os.write, os._exit, (nonce + "\n").encode(), report_fd
    del nonce
    try:
        exec(code, module.__dict__)
    except BaseException as e:  # noqa: BLE001 - SystemExit and KeyboardInterrupt are failures too
        try:
            text = f"{type(e).__name__}: {e}"
        except BaseException:  # noqa: BLE001 - a hostile __str__
            text = "exception with an unprintable message"
        try:
            write(fd, (json.dumps({"kind": "error", "text": text[:2000]}) + "\n").encode())
        except BaseException:  # noqa: BLE001
            pass
        _flush()
        exit_now(1)
    # Reached only when the whole program (tests + check call) returned.
    _flush()
    try:
        write(fd, marker)
    finally:
        exit_now(0)
