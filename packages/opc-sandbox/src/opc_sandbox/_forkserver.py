"""The in-namespace fork server: one warm interpreter per pool worker that forks a fresh child per program.

Started by ``opc_sandbox.forkserver.ForkServer`` as PID 1 of new PID, network and mount namespaces
(``unshare --pid --net --mount --fork --kill-child python -I -S -B _forkserver.py``), as root inside
them. Once: hides private parents of the interpreter (e.g. /root) and remounts everything read-only.
Then, for each request (one JSON line on stdin), it

1. replaces /tmp, /var/tmp and /dev/shm with fresh tmpfs mounts (the previous ones are detached, so
   nothing a program wrote survives it) and creates the working directory /tmp/opc/work,
2. forks: the child takes new stdout/stderr pipes and /dev/null as stdin, closes every other
   descriptor except the report pipe, sets its rlimits, drops to the request's uid (no groups,
   ``no_new_privs``) and ``exec``-s the program; only if that returns it writes the nonce,
3. collects output (capped), the report and the exit status until the deadline, then
   ``kill(-1, SIGKILL)``: as PID 1 of the namespace this reaches every process the program left behind
   (daemons, fork bombs) and nothing outside, and reaps them all,
4. answers one JSON line on stdout.

Same guarantees and limits as the one-shot driver (see ``opc_sandbox.sandbox``), minus ~60 ms of
process start-up per program. stdlib only; never imported by the harness.
"""

import base64
import ctypes
import errno
import json
import linecache
import os
import resource
import selectors
import signal
import sys
import time
import types

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC = 1, 2, 4, 32, 4096, 16384
MNT_DETACH = 2
PR_SET_NO_NEW_PRIVS = 38
SCRATCH = ("/tmp", "/var/tmp", "/dev/shm")
ROOT = "/tmp/opc"
WORKDIR = "/tmp/opc/work"
PROGRAM = "/tmp/opc/program.py"

libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]


def _mount(source, target, fstype, flags, data) -> None:
    if libc.mount(source, target, fstype, flags, data) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {target!r}: {os.strerror(err)}")


def _hidden_ancestor(path: str):
    current = ""
    for part in os.path.abspath(path).split("/")[1:]:
        current += "/" + part
        try:
            if not os.stat(current).st_mode & 0o001:
                return current
        except OSError:
            return None
    return None


def setup_once(expose: list, tmpfs_mb: int) -> list:
    """Hide private parents of the interpreter, then make every mount read-only. Returns warnings."""
    warnings = []
    groups = {}
    for p in expose:
        top = _hidden_ancestor(p) if os.path.isdir(p) else None
        if top and top != p:
            groups.setdefault(top, []).append(p)
    for top, subs in groups.items():
        fds = [(s, os.open(s, os.O_PATH | os.O_DIRECTORY)) for s in sorted(set(subs), key=len)]
        _mount(b"tmpfs", top.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, b"size=1m,mode=755")
        for sub, fd in fds:
            os.makedirs(sub, mode=0o755, exist_ok=True)
            _mount(f"/proc/self/fd/{fd}".encode(), sub.encode(), None, MS_BIND | MS_REC, None)
            os.close(fd)
    fresh_scratch(tmpfs_mb, first=True)
    with open("/proc/self/mountinfo") as f:
        mounts = [line.split()[4] for line in f]
    failed = []
    for mp in mounts:
        if mp in SCRATCH or mp.startswith(("/proc", "/dev")):
            continue
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY
        if libc.mount(None, mp.encode(), None, flags, None) != 0:
            if libc.mount(None, mp.encode(), None, flags | MS_NOSUID | MS_NODEV, None) != 0:
                failed.append(mp)
    if failed:
        warnings.append("could not remount read-only: " + ", ".join(failed))
    return warnings


def fresh_scratch(tmpfs_mb: int, first: bool = False) -> None:
    opts = f"size={tmpfs_mb}m,mode=1777".encode()
    for d in SCRATCH:
        if not os.path.isdir(d):
            continue
        if not first:
            libc.umount2(d.encode(), MNT_DETACH)
        _mount(b"tmpfs", d.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, opts)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001
            pass


def child(req: dict, out_w: int, err_w: int, rep_w: int) -> None:
    """Runs in the forked child; never returns."""
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        null = os.open("/dev/null", os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        keep = {0, 1, 2, rep_w}
        for fd in range(3, max(rep_w + 1, 64)):
            if fd not in keep:
                try:
                    os.close(fd)
                except OSError:
                    pass
        os.closerange(max(rep_w + 1, 64), 65536)
        sys.stdin = open(0, closefd=False)  # noqa: SIM115
        sys.stdout = open(1, "w", encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115
        lim = req["limits"]
        resource.setrlimit(resource.RLIMIT_CPU, (lim["cpu_s"], lim["cpu_s"]))
        resource.setrlimit(resource.RLIMIT_AS, (lim["memory_bytes"], lim["memory_bytes"]))
        resource.setrlimit(resource.RLIMIT_FSIZE, (lim["file_bytes"], lim["file_bytes"]))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NPROC, (lim["processes"], lim["processes"]))
        uid = req["uid"]
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        os.chdir(WORKDIR)
        os.environ.clear()
        os.environ.update(req["env"])
        source = req["source"]
        code = compile(source, PROGRAM, "exec")
    except BaseException as e:  # noqa: BLE001
        os.write(rep_w, (json.dumps({"kind": "error", "text": f"{type(e).__name__}: {e}"}) + "\n").encode())
        os._exit(1)
    linecache.cache[PROGRAM] = (len(source), None, source.splitlines(True), PROGRAM)
    module = types.ModuleType(req["module_name"])
    module.__file__ = PROGRAM
    sys.modules[req["module_name"]] = module
    write, exit_now, marker = os.write, os._exit, (req.pop("nonce") + "\n").encode()
    del req
    try:
        exec(code, module.__dict__)
    except BaseException as e:  # noqa: BLE001 - SystemExit and KeyboardInterrupt are failures too
        try:
            text = f"{type(e).__name__}: {e}"
        except BaseException:  # noqa: BLE001
            text = "exception with an unprintable message"
        try:
            write(rep_w, (json.dumps({"kind": "error", "text": text[:2000]}) + "\n").encode())
        except BaseException:  # noqa: BLE001
            pass
        _flush()
        exit_now(1)
    _flush()
    try:
        write(rep_w, marker)
    finally:
        exit_now(0)


def _kill_rest() -> None:
    """SIGKILL every other process of this PID namespace (none left is fine)."""
    try:
        os.kill(-1, signal.SIGKILL)
    except ProcessLookupError:
        pass


def reap_all() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.001)


def handle(req: dict, tmpfs_mb: int, wake_r: int) -> dict:
    fresh_scratch(tmpfs_mb)
    os.makedirs(WORKDIR, mode=0o700)
    os.chmod(ROOT, 0o755)
    uid = req["uid"]
    for name, b64 in req.get("files", {}).items():
        path = os.path.join(WORKDIR, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(base64.b64decode(b64))
    for dirpath, _dirs, names in os.walk(WORKDIR):
        os.chown(dirpath, uid, uid)
        for n in names:
            os.chown(os.path.join(dirpath, n), uid, uid)
    with open(PROGRAM, "w", encoding="utf-8") as f:
        f.write(req["source"])
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    rep_r, rep_w = os.pipe()
    nonce = req["nonce"]
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        child(req, out_w, err_w, rep_w)
    for fd in (out_w, err_w, rep_w):
        os.close(fd)
    cap = req["max_output"]
    bufs = {out_r: bytearray(), err_r: bytearray(), rep_r: bytearray()}
    dropped = {out_r: 0, err_r: 0, rep_r: 0}
    sel = selectors.DefaultSelector()
    for fd in bufs:
        sel.register(fd, selectors.EVENT_READ)
    sel.register(wake_r, selectors.EVENT_READ)
    deadline = started + req["timeout_s"]
    marker = (nonce + "\n").encode()
    status = None
    passed = timed_out = False
    open_fds = set(bufs)
    while open_fds or status is None:
        if status is None:
            try:
                wpid, st = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                wpid, st = pid, 0
            if wpid == pid:
                status = st
                _kill_rest()  # whatever the program left behind
        now = time.monotonic()
        if now >= deadline:
            timed_out = status is None and not passed
            break
        # with every pipe closed only the exit status is missing: poll for it briefly instead of
        # relying on the SIGCHLD wake-up alone
        wait = min(deadline - now, 0.5 if open_fds else 0.002)
        for key, _ in sel.select(timeout=wait):
            if key.fd == wake_r:
                try:
                    os.read(wake_r, 4096)
                except BlockingIOError:
                    pass
                continue
            try:
                data = os.read(key.fd, 65536)
            except OSError as e:
                if e.errno == errno.EINTR:
                    continue
                data = b""
            if not data:
                sel.unregister(key.fd)
                open_fds.discard(key.fd)
                continue
            buf = bufs[key.fd]
            room = (cap if key.fd != rep_r else 65536) - len(buf)
            if room > 0:
                buf.extend(data[:room])
            dropped[key.fd] += max(0, len(data) - max(room, 0))
            if key.fd == rep_r and marker in buf and not passed:
                passed = True
                deadline = min(deadline, time.monotonic() + 1.0)
    _kill_rest()
    if status is None:
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            status = 0
    reap_all()
    sel.close()
    for fd in bufs:
        os.close(fd)
    detail = ""
    for line in bufs[rep_r].decode("utf-8", "replace").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and rec.get("kind") == "error":
            detail = str(rec.get("text", ""))
    rc = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    return {
        "passed": passed,
        "timed_out": timed_out or (not passed and rc == -signal.SIGXCPU),
        "detail": detail,
        "returncode": rc,
        "stdout": bufs[out_r].decode("utf-8", "replace"),
        "stderr": bufs[err_r].decode("utf-8", "replace"),
        "stdout_truncated": dropped[out_r] > 0,
        "stderr_truncated": dropped[err_r] > 0,
        "wall_s": round(time.monotonic() - started, 4),
    }


def main() -> None:
    if os.getpid() != 1:  # kill(-1) below is only safe as PID 1 of a private PID namespace
        sys.stderr.write("_forkserver must run as PID 1 of its own PID namespace\n")
        sys.exit(2)
    control_in = sys.stdin.buffer
    control_out = os.fdopen(os.dup(1), "wb")
    null = os.open("/dev/null", os.O_RDWR)
    os.dup2(null, 1)  # a stray print in this process must never corrupt the protocol
    hello = json.loads(control_in.readline())
    sys.path[:] = hello["sys_path"]
    warnings = []
    try:
        warnings = setup_once(hello["expose"], hello["tmpfs_mb"])
    except OSError as e:
        warnings.append(f"mount isolation failed: {e}")
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda *a: None)
    signal.set_wakeup_fd(wake_w)
    control_out.write((json.dumps({"ready": True, "warnings": warnings}) + "\n").encode())
    control_out.flush()
    for line in control_in:
        if not line.strip():
            continue
        req = json.loads(line)
        t0 = time.monotonic()
        try:
            resp = handle(req, hello["tmpfs_mb"], wake_r)
        except Exception as e:  # noqa: BLE001 - report and keep serving
            _kill_rest()
            reap_all()
            resp = {"passed": False, "timed_out": False, "detail": f"sandbox error: {type(e).__name__}: {e}",
                    "returncode": None, "stdout": "", "stderr": "", "stdout_truncated": False,
                    "stderr_truncated": False, "wall_s": 0.0}
        resp["server_s"] = round(time.monotonic() - t0, 4)
        control_out.write((json.dumps(resp) + "\n").encode())
        control_out.flush()


if __name__ == "__main__":
    main()
