"""Progress bars and logging: one helper for every long loop, logs on stderr (stdout stays for data).

``track(iterable, "signals", total=n)`` draws a rich progress bar on stderr when it is a terminal and
logs a line every ``every`` seconds otherwise (CI logs stay readable).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

T = TypeVar("T")
stderr_console = Console(stderr=True)
_configured = False


def setup_logging(level: str | None = None) -> None:
    """Structured, human-readable logs on stderr; level from ``OPC_LOG_LEVEL`` (default INFO)."""
    global _configured
    level = (level or os.environ.get("OPC_LOG_LEVEL") or "INFO").upper()
    root = logging.getLogger("opc")
    root.setLevel(level)
    if not _configured:
        if stderr_console.is_terminal:
            handler: logging.Handler = RichHandler(console=stderr_console, show_path=False, rich_tracebacks=False,
                                                   markup=False)
            handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        else:  # a log file or CI: one line per record, never wrapped at 80 columns
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
        root.addHandler(handler)
        root.propagate = False
        _configured = True


def track(iterable: Iterable[T], description: str, total: int | None = None, every: float = 10.0,
          unit: str = "") -> Iterator[T]:
    """Yield from ``iterable`` while showing progress: done/total, rate and time left.

    On a terminal, a rich bar on stderr; elsewhere (CI, log files) a log line every ``every`` seconds and
    one at the end, e.g. ``data shards: 3/8 (0.4 shards/s, 12 s elapsed)``.
    """
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    per = f" {unit}/s" if unit else "/s"
    if stderr_console.is_terminal:
        columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[rate]}"), TimeElapsedColumn()]
        if total:
            columns.append(TimeRemainingColumn())
        with Progress(*columns, console=stderr_console, transient=True) as progress:
            task = progress.add_task(description, total=total, rate="")
            start = time.monotonic()
            for done, item in enumerate(iterable, 1):
                yield item
                elapsed = max(time.monotonic() - start, 1e-9)
                progress.update(task, advance=1, rate=f"{done / elapsed:.1f}{per}")
        return
    log = logging.getLogger("opc.progress")
    start = last = time.monotonic()
    done = 0

    def line() -> None:
        elapsed = max(time.monotonic() - start, 1e-9)
        log.info("%s: %d%s (%.1f%s, %.0f s elapsed)", description, done, f"/{total}" if total else "",
                 done / elapsed, per, elapsed)

    for item in iterable:
        yield item
        done += 1
        if time.monotonic() - last >= every:
            last = time.monotonic()
            line()
    if time.monotonic() - start >= every:  # a long loop also says when it ended
        line()


def eprint(*args: object) -> None:
    print(*args, file=sys.stderr)
