"""The in-sandbox driver: the first Python code that runs inside the namespaces (as root, briefly).

Started by ``opc_sandbox.sandbox`` as ``unshare ... python -I _driver.py SPEC_FD``. It

1. reads its spec (JSON: paths, uid, nonce, mount plan) from an inherited pipe and closes it,
2. makes the mount namespace safe: private tmpfs on /tmp, /var/tmp and /dev/shm, the per-run working
   directory bind-mounted back at the same path, and every other mount remounted read-only,
3. drops to the unprivileged uid/gid (no supplementary groups, ``no_new_privs``),
4. compiles and ``exec``-s the program in a fresh ``__main__``-less namespace, like the official
   harnesses do, and only when that returns writes the per-run nonce to the report pipe.

Anything the program does before the nonce line is written (``sys.exit``, ``os._exit``, a signal, a
closed stdout) leaves the report without the nonce, which the parent reads as a failure.
This module is NOT imported by the harness; it must stay dependency-free (stdlib only).
"""

import ctypes
import json
import linecache
import os
import sys
import types

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
PR_SET_NO_NEW_PRIVS = 38


def _report(fd: int, kind: str, text: str) -> None:
    try:
        os.write(fd, (json.dumps({"kind": kind, "text": text}) + "\n").encode())
    except OSError:
        pass


def _mount(libc, source, target, fstype, flags, data) -> None:
    if libc.mount(source, target, fstype, flags, data) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {target.decode()}: {os.strerror(err)}")


def _harden_mounts(spec: dict, report_fd: int) -> None:
    """Private tmpfs scratch areas, the workdir bound back in place, the rest read-only."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    workdir = spec["workdir"]
    keep = os.open(workdir, os.O_PATH | os.O_DIRECTORY)
    program_dir = os.path.dirname(spec["program"])
    keep_prog = os.open(program_dir, os.O_PATH | os.O_DIRECTORY)
    size = f"size={spec['tmpfs_mb']}m,mode=1777".encode()
    for scratch in ("/tmp", "/var/tmp", "/dev/shm"):
        if os.path.isdir(scratch):
            _mount(libc, b"tmpfs", scratch.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, size)
    for path, fd in ((program_dir, keep_prog), (workdir, keep)):
        if not os.path.isdir(path):
            os.makedirs(path, exist_ok=True)
        _mount(libc, f"/proc/self/fd/{fd}".encode(), path.encode(), None, MS_BIND, None)
    os.close(keep)
    os.close(keep_prog)
    _expose(libc, spec.get("expose", []))
    if spec.get("readonly_root", True):
        failed = []
        with open("/proc/self/mountinfo") as f:
            mounts = [line.split()[4] for line in f]
        writable = {"/tmp", "/var/tmp", "/dev/shm", workdir}
        for mp in mounts:
            if mp in writable or mp.startswith(("/proc", "/dev")) or mp.startswith(workdir + "/"):
                continue
            flags = MS_REMOUNT | MS_BIND | MS_RDONLY
            if libc.mount(None, mp.encode(), None, flags, None) != 0:
                # locked flags (nosuid/nodev) must be repeated on remount
                if libc.mount(None, mp.encode(), None, flags | MS_NOSUID | MS_NODEV, None) != 0:
                    failed.append(mp)
        if failed:
            _report(report_fd, "warn", "could not remount read-only: " + ", ".join(failed))


def _hidden_ancestor(path: str) -> str | None:
    """The top-most ancestor of ``path`` that others cannot traverse (e.g. /root, mode 700), if any."""
    parts = os.path.abspath(path).split("/")[1:]
    current = ""
    for part in parts:
        current += "/" + part
        try:
            mode = os.stat(current).st_mode
        except OSError:
            return None
        if not mode & 0o001:
            return current
    return None


def _expose(libc, paths: list[str]) -> None:
    """Make the interpreter's own directories reachable for the sandbox uid without exposing their
    private parents: a tmpfs hides e.g. /root, and only the needed subtrees are bound back into it."""
    groups: dict[str, list[str]] = {}
    for p in paths:
        if not os.path.isdir(p):
            continue
        top = _hidden_ancestor(p)
        if top and top != p:
            groups.setdefault(top, []).append(p)
    for top, subs in groups.items():
        fds = [(sub, os.open(sub, os.O_PATH | os.O_DIRECTORY)) for sub in sorted(set(subs), key=len)]
        _mount(libc, b"tmpfs", top.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, b"size=1m,mode=755")
        for sub, fd in fds:
            if not os.path.isdir(sub):
                os.makedirs(sub, mode=0o755, exist_ok=True)
            _mount(libc, f"/proc/self/fd/{fd}".encode(), sub.encode(), None, MS_BIND | MS_REC, None)
            os.close(fd)


def _drop_privileges(uid: int, gid: int) -> None:
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001 - closed or replaced by the program
            pass


def main() -> None:
    spec_fd = int(sys.argv[1])
    chunks = []
    while True:
        chunk = os.read(spec_fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(spec_fd)
    spec = json.loads(b"".join(chunks))
    report_fd = spec["report_fd"]
    nonce = spec.pop("nonce")
    os.set_inheritable(report_fd, False)
    with open(spec["program"], encoding="utf-8") as f:
        source = f.read()
    if spec["isolate_mounts"]:
        try:
            _harden_mounts(spec, report_fd)
        except OSError as e:
            _report(report_fd, "warn", f"mount isolation failed: {e}")
    if spec["uid"] is not None:
        _drop_privileges(spec["uid"], spec["gid"])
    os.chdir(spec["workdir"])
    sys.path[:] = [spec["workdir"], *spec["sys_path"]]
    import site  # started with -S: the usual path comes from the spec; give back exit/quit/help

    site.setquit()
    site.sethelper()
    sys.argv = [spec["program"]]
    del chunks, spec_fd
    try:
        code = compile(source, spec["program"], "exec")
    except BaseException as e:  # SyntaxError and friends
        _report(report_fd, "error", f"{type(e).__name__}: {e}")
        os._exit(1)
    linecache.cache[spec["program"]] = (len(source), None, source.splitlines(True), spec["program"])
    # a real module object registered in sys.modules, so ``mock.patch(f"{__name__}.x")`` works (BigCodeBench)
    module = types.ModuleType(spec["module_name"])
    module.__file__ = spec["program"]
    sys.modules[spec["module_name"]] = module
    namespace = module.__dict__
    _report(report_fd, "start", "")
    del spec
    # The program may monkeypatch os/json/builtins; keep our own references to what we need after it.
    write, exit_now, marker = os.write, os._exit, (nonce + "\n").encode()
    del nonce
    try:
        exec(code, namespace)
    except BaseException as e:  # noqa: BLE001 - SystemExit and KeyboardInterrupt are failures too
        try:
            text = f"{type(e).__name__}: {e}"
        except BaseException:  # noqa: BLE001 - a hostile __str__
            text = "exception with an unprintable message"
        _report(report_fd, "error", text[:2000])
        _flush()
        exit_now(1)
    # Reached only when the whole program (tests + check call) returned.
    _flush()
    try:
        write(report_fd, marker)
    finally:
        exit_now(0)


if __name__ == "__main__":
    main()
