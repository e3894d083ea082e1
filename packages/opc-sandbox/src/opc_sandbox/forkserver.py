"""Warm sandboxes for the pool: one fork server per worker, a fresh forked child per program.

``run_program`` pays for a new ``unshare`` + interpreter start per program (~60-100 ms). A pool worker
instead keeps one interpreter running as PID 1 of its own PID/network/mount namespaces
(``_forkserver.py``) and forks a child per program: the child gets fresh /tmp, /var/tmp, /dev/shm
tmpfs mounts and working directory, its own cgroup (made here, per program) and IPC namespace, its
rlimits, the unprivileged uid and the nonce check, exactly as in the one-shot path (both use
``_isolation``), and everything it leaves behind is killed (``kill(-1)`` from PID 1) before the
next program starts. Each program still runs in its own process; programs of one worker never
overlap in time. Used only when ``probe()`` finds root and the PID, network, mount and IPC
namespaces; otherwise the pool falls back to ``run_program``.

The harness guards the server itself: no answer within the program's timeout + a margin -> the whole
namespace is killed, the program is reported "timed out", and a new server starts for the next one.
"""

from __future__ import annotations

import json
import os
import secrets
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from opc_sandbox import _isolation, cgroups
from opc_sandbox.sandbox import (
    DEFAULT_UID,
    ExecResult,
    Limits,
    _blame_memory,
    _encoded,
    _program_cgroup,
    _scrubbed_env,
    _warn_once,
    interpreter_paths,
    interpreter_sys_path,
    probe,
)

SERVER = Path(__file__).with_name("_forkserver.py")
WORKDIR = _isolation.WORKDIR


def forkserver_available() -> bool:
    caps = probe()
    return bool(caps.root and caps.unshare and caps.pid_namespace and caps.net_namespace and caps.mount_namespace
                and caps.ipc_namespace)


class ForkServer:
    """One warm sandbox server. Not thread-safe: give each worker thread its own."""

    def __init__(self, python: str | None = None, limits: Limits | None = None, uid: int = DEFAULT_UID) -> None:
        self.python = python or sys.executable
        self.limits = limits or Limits()
        self.uid = uid
        self.proc: subprocess.Popen | None = None
        self.cgroup_fds: list[int] = []

    def _start(self) -> None:
        caps = probe()
        cmd = [caps.unshare or "unshare", "--fork", "--kill-child", "--pid", "--mount-proc", "--net",
               self.python, "-I", "-S", "-B", str(SERVER)]
        found = cgroups.support() if caps.cgroup else None
        # the server's own /sys/fs/cgroup becomes read-only: it reaches the programs' cgroups through these
        self.cgroup_fds = [os.open(h.base, os.O_PATH | os.O_DIRECTORY) for h in (found.hierarchies if found else ())]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     env=_scrubbed_env(WORKDIR, None), cwd="/", start_new_session=True,
                                     pass_fds=self.cgroup_fds)
        hello = {
            "sys_path": list(interpreter_sys_path(self.python)),
            "expose": list(interpreter_paths(self.python)),
            "tmpfs_mb": self.limits.tmpfs_mb,
            "cgroup_fds": self.cgroup_fds,
        }
        self._send(hello)
        reply = self._recv(self.limits.startup_timeout_s)
        if reply is None or not reply.get("ready"):
            self.close()
            raise RuntimeError(f"sandbox fork server did not start ({self.python})")
        for w in reply.get("warnings", []):
            _warn_once(w)

    def _send(self, obj: dict) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(obj) + "\n").encode())
        self.proc.stdin.flush()

    def _recv(self, timeout_s: float) -> dict | None:
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        ready, _, _ = select.select([fd], [], [], timeout_s)
        if not ready:
            return None
        line = self.proc.stdout.readline()
        return json.loads(line) if line else None

    def run(
        self,
        source: str,
        timeout_s: float,
        *,
        files: dict[str, str | bytes] | None = None,
        env: dict[str, str] | None = None,
        module_name: str = "__opc_program__",
        limits: Limits | None = None,
    ) -> ExecResult:
        """Run one program in a fresh child of the server; same verdict rules as ``run_program``.

        ``limits`` overrides the server's per-program limits (not the tmpfs size, fixed at start)."""
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        lim = limits or self.limits
        cgroup = _program_cgroup(lim) if self.cgroup_fds else None
        req = {
            "source": source,
            "nonce": secrets.token_hex(16),
            "timeout_s": timeout_s,
            "uid": self.uid,
            "module_name": module_name,
            "max_output": lim.max_output_bytes,
            "env": _scrubbed_env(WORKDIR, env),
            "files": _encoded(files),
            "cgroups": [cgroup.name] * len(self.cgroup_fds) if cgroup is not None else [],
            "limits": {"cpu_s": int(timeout_s) + 2, "memory_bytes": lim.memory_mb << 20,
                       "file_bytes": lim.max_file_mb << 20, "processes": lim.max_processes},
        }
        started = time.monotonic()
        try:
            try:
                self._send(req)
                resp = self._recv(timeout_s + 15.0)
                self.last_server_s = resp.get("server_s") if resp else None
            except (BrokenPipeError, OSError, ValueError):
                resp = None
            if resp is None:  # the server is wedged or gone: kill its namespace, start anew next time
                self.close()
                return ExecResult(False, "timed out", "", None, wall_s=round(time.monotonic() - started, 4))
            return _blame_memory(self._result(resp), cgroup, lim)
        finally:
            if cgroup is not None:
                cgroup.remove()

    @staticmethod
    def _result(resp: dict) -> ExecResult:
        if resp["passed"]:
            status, detail = "passed", ""
        elif resp["timed_out"]:
            status, detail = "timed out", ""
        else:
            status = "failed"
            detail = resp["detail"] or _describe(resp["returncode"])
        return ExecResult(
            passed=bool(resp["passed"]),
            status=status,
            detail=detail,
            returncode=resp["returncode"],
            stdout=resp["stdout"],
            stderr=resp["stderr"],
            stdout_truncated=resp["stdout_truncated"],
            stderr_truncated=resp["stderr_truncated"],
            wall_s=resp["wall_s"],
        )

    def close(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        self.proc = None
        for fd in self.cgroup_fds:
            os.close(fd)
        self.cgroup_fds = []

    def __enter__(self) -> ForkServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _describe(rc: int | None) -> str:
    from opc_sandbox.sandbox import _describe_exit

    return _describe_exit(rc)
