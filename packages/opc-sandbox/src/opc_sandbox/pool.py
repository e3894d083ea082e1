"""A bounded parallel pool of sandboxes: many programs, at most ``workers`` running at once.

Each program still gets its own ``run_program`` sandbox (fresh process tree, namespaces, temp dir);
the pool only bounds concurrency and gives every worker slot its own unprivileged uid, so the
per-uid process limit (RLIMIT_NPROC) of one program's fork bomb cannot starve its neighbours.
Threads are enough here: each worker only waits on a child process. Results keep input order.
Where the host allows it, each worker drives a warm fork server (``opc_sandbox.forkserver``): the
same isolation per program, without paying interpreter start-up every time.
It does NOT retry, cache or reorder; a program that times out is reported as timed out.
"""

from __future__ import annotations

import os
import queue
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from opc_sandbox.forkserver import ForkServer, forkserver_available
from opc_sandbox.sandbox import DEFAULT_UID, ExecResult, Limits, run_program

POOL_UID_BASE = 61000  # worker slot i runs as uid 61000 + i (no passwd entry needed)


@dataclass
class Job:
    """One program to run: its source and, optionally, files to place in its working directory."""

    source: str
    files: dict[str, str | bytes] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    module_name: str = "__opc_program__"


def default_workers() -> int:
    return max(1, min(32, (os.cpu_count() or 1)))


def run_many(
    jobs: Sequence[Job | str],
    *,
    workers: int | None = None,
    timeout_s: float = 3.0,
    limits: Limits | None = None,
    python: str | None = None,
    on_result: Callable[[int, ExecResult], None] | None = None,
    engine: str = "auto",
) -> list[ExecResult]:
    """Run every job in its own sandbox, at most ``workers`` at a time; results in input order.

    ``engine``: "forkserver" (warm per-worker servers, see ``opc_sandbox.forkserver``), "oneshot"
    (``run_program`` per job) or "auto" (the fork server when the host supports every namespace).
    """
    workers = max(1, min(workers or default_workers(), max(1, len(jobs))))
    warm = forkserver_available() if engine == "auto" else engine == "forkserver"
    slots: queue.Queue[tuple[int, ForkServer | None]] = queue.Queue()
    servers: list[ForkServer] = []
    for i in range(workers):
        uid = POOL_UID_BASE + i if os.geteuid() == 0 else DEFAULT_UID
        server = ForkServer(python=python, limits=limits, uid=uid) if warm else None
        if server is not None:
            servers.append(server)
        slots.put((uid, server))

    def one(index: int, job: Job | str) -> ExecResult:
        if isinstance(job, str):
            job = Job(job)
        uid, server = slots.get()
        try:
            if server is not None:
                result = server.run(job.source, timeout_s, files=job.files, env=job.env, module_name=job.module_name)
            else:
                result = run_program(
                    job.source, timeout_s, limits=limits, python=python, uid=uid, files=job.files, env=job.env,
                    module_name=job.module_name,
                )
        finally:
            slots.put((uid, server))
        if on_result is not None:
            on_result(index, result)
        return result

    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="opc-sandbox") as ex:
            return list(ex.map(one, range(len(jobs)), jobs))
    finally:
        for server in servers:
            server.close()


