"""Child processes that die with their parent: one mechanism for every pool, server and helper we start.

    opc run data (pid P) ──spawn──▶ pool worker      die_with_parent(P) in the initializer
                         ──Popen──▶ helper server    preexec_fn=die_with_parent (pdeathsig survives exec)
    supervisor (make ui) ──▶ children in their own process group; SIGINT/SIGTERM forwarded to the group

Linux ``prctl(PR_SET_PDEATHSIG)`` asks the kernel to signal a process when the thread that created it
exits, however it exits (``kill -9`` included): nothing in the dead parent has to run. A child checks once
after arming that its parent is still the one it was started by (it may have died before the ``prctl``).

What it does NOT do: catch grandchildren that a child starts without this mechanism (each spawner arms
its own children), or anything on non-Linux systems (``die_with_parent`` is a no-op there). Python's
multiprocessing resource tracker needs nothing: it exits when the last process holding its pipe is gone.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int | None = None, sig: int = signal.SIGKILL) -> None:
    """Ask the kernel to send ``sig`` to this process when its parent dies (Linux; a no-op elsewhere).

    ``parent_pid``: the pid that started us; when our parent is no longer it, it died before we armed.
    """
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        return
    if parent_pid is not None and os.getppid() != parent_pid:
        os.kill(os.getpid(), sig)


def process_pool(max_workers: int) -> ProcessPoolExecutor:
    """A spawn-context process pool whose workers die with this process (``kill -9`` of it included)."""
    return ProcessPoolExecutor(
        max_workers=max_workers, mp_context=get_context("spawn"), initializer=die_with_parent,
        initargs=(os.getpid(),),
    )


def popen_dying_with_parent(args: Sequence[str], *, death_signal: int = signal.SIGKILL,
                            **kwargs) -> subprocess.Popen:
    """``subprocess.Popen`` whose child gets ``death_signal`` when this process dies (survives the exec).

    SIGKILL by default; SIGTERM for a child that must clean up its own children first (torchrun).
    """
    parent = os.getpid()
    return subprocess.Popen(args, preexec_fn=lambda: die_with_parent(parent, death_signal), **kwargs)  # noqa: PLW1509


def supervise(commands: Sequence[Sequence[str]], *, ready: Callable[[], bool] | None = None,
              grace_s: float = 10.0, envs: Sequence[dict[str, str] | None] | None = None) -> int:
    """Run ``commands`` (helpers first, e.g. a server, then the main one) until the last one exits.

    Each child runs in its own process group (a terminal's Ctrl-C reaches only this supervisor) and dies
    with it (``kill -9`` included). Before the main command starts, ``ready()`` is polled until true (the
    server answers); ``envs`` gives each command its environment. The first SIGINT or SIGTERM is forwarded as SIGTERM to every child's group; on a second
    signal, or ``grace_s`` later, they get SIGKILL. Helpers are stopped when the main command exits.
    Returns the main command's exit code (128 + signal number when a signal ended it).
    """
    children: list[subprocess.Popen] = []
    stopping: list[float] = []

    def signal_all(sig: int) -> None:
        for child in children:
            if child.poll() is None:
                try:
                    os.killpg(child.pid, sig)
                except ProcessLookupError:
                    pass

    def on_signal(_signum: int, _frame) -> None:
        signal_all(signal.SIGKILL if stopping else signal.SIGTERM)
        stopping.append(time.monotonic())

    def wait_all() -> None:
        while any(c.poll() is None for c in children):
            if time.monotonic() - stopping[0] > grace_s:
                signal_all(signal.SIGKILL)
            time.sleep(0.1)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    for i, cmd in enumerate(commands):
        children.append(popen_dying_with_parent(list(cmd), process_group=0, env=envs[i] if envs else None))
        if i < len(commands) - 1 and ready is not None:
            while not stopping and children[-1].poll() is None and not ready():
                time.sleep(0.5)
        if stopping or children[-1].poll() is not None:
            break
    main = children[-1]
    while main.poll() is None and not stopping:
        time.sleep(0.2)
    if not stopping:
        stopping.append(time.monotonic())
        signal_all(signal.SIGTERM)
    wait_all()
    rc = main.returncode
    return 128 - rc if rc < 0 else rc
