"""The in-namespace fork server: one warm interpreter per pool worker that forks a fresh child per program.

Started by ``opc_sandbox.forkserver.ForkServer`` as PID 1 of new PID, network and mount namespaces
(``unshare --pid --net --mount --fork --kill-child python -I -S -B _forkserver.py``), as root inside
them. Once: builds the mount view (``_isolation.MountView``: the interpreter's directories bound back
read-only wherever they live, everything else read-only). Then, for each request (one JSON line on stdin), it

1. replaces /tmp, /var/tmp and /dev/shm with fresh size-capped tmpfs mounts (the previous ones are detached,
   so nothing a program wrote survives it) and writes the program and the working directory into them,
2. forks: the child joins the program's cgroup (memory + pids limit for all its processes; the harness made
   it, we hold directory fds from the host), enters a private IPC namespace (System V segments die with
   the program, and the next program cannot see them), takes new stdout/stderr pipes and /dev/null as
   stdin, closes every other descriptor except the report pipe, sets its rlimits, drops to the request's
   uid (no groups, ``no_new_privs``) and runs the program (``_isolation.execute``); only if that returns
   it writes the nonce,
3. collects output (capped), the report and the exit status until the deadline, then
   ``kill(-1, SIGKILL)``: as PID 1 of the namespace this reaches every process the program left behind
   (daemons, fork bombs) and nothing outside, and reaps them all,
4. answers one JSON line on stdout.

Same guarantees and limits as the one-shot driver (see ``opc_sandbox.sandbox``), minus ~60 ms of
process start-up per program. stdlib only; never imported by the harness.
"""

import errno
import json
import os
import selectors
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves the script's directory out
import _isolation  # noqa: E402

del sys.path[0]


def child(req: dict, out_w: int, err_w: int, rep_w: int, cgroup_fds: list, program: str) -> None:
    """Runs in the forked child; never returns."""
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        _isolation.join_cgroups([(fd, name) for fd, name in zip(cgroup_fds, req.get("cgroups", []), strict=False)])
        _isolation.new_ipc_namespace()
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
        _isolation.set_limits(lim["cpu_s"], lim["memory_bytes"], lim["file_bytes"], lim["processes"])
        _isolation.drop_privileges(req["uid"], req["uid"])
        os.chdir(_isolation.WORKDIR)
        os.environ.clear()
        os.environ.update(req["env"])
        sys.argv = [program]
    except BaseException as e:  # noqa: BLE001
        _isolation.report(rep_w, "error", f"sandbox setup: {type(e).__name__}: {e}")
        os._exit(1)
    source, module_name, nonce = req["source"], req["module_name"], req.pop("nonce")
    del req
    _isolation.execute(source, program, module_name, rep_w, nonce)


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


def handle(req: dict, view: _isolation.MountView, cgroup_fds: list, wake_r: int) -> dict:
    view.fresh_scratch()
    program, _ = _isolation.write_workdir(_isolation.ROOT, req["source"], req.get("files", {}), req["uid"])
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    rep_r, rep_w = os.pipe()
    nonce = req["nonce"]
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        child(req, out_w, err_w, rep_w, cgroup_fds, program)
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
    cgroup_fds = hello.get("cgroup_fds", [])
    view = _isolation.MountView(hello["expose"], hello["tmpfs_mb"])
    try:
        warnings = view.build()
    except OSError as e:
        warnings = [*view.warnings, f"mount isolation failed: {e}"]
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
            resp = handle(req, view, cgroup_fds, wake_r)
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
