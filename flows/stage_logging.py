"""Stage logs into the Prefect run: the lines the CLI prints (counts, progress, warnings, the summary) also
reach the task run's logs in the UI.

``packages/`` never imports Prefect: stages log to the standard ``opc.*`` loggers. Around each stage call the
flow attaches one handler to the ``opc`` logger that forwards every record to Prefect's run logger (which
sends it to the API), and takes it off again afterwards, whether the stage ran, hit its cache or failed.

What it does NOT do: collect logs from pool worker processes (a stage's workers report through their parent,
which logs the counts), or change what the terminal shows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager


class _ToRunLogger(logging.Handler):
    def __init__(self, run_logger: logging.LoggerAdapter) -> None:
        super().__init__(level=logging.INFO)
        self.run_logger = run_logger
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.run_logger.log(record.levelno, self.format(record))
        except Exception:  # a logging failure must never fail the stage
            self.handleError(record)


@contextmanager
def stage_logs_to_prefect(run_logger: logging.LoggerAdapter) -> Iterator[None]:
    """Forward ``opc.*`` records at INFO and above to ``run_logger`` while the block runs."""
    opc = logging.getLogger("opc")
    handler = _ToRunLogger(run_logger)
    previous = opc.level
    if opc.getEffectiveLevel() > logging.INFO:
        opc.setLevel(logging.INFO)
    opc.addHandler(handler)
    try:
        yield
    finally:
        opc.removeHandler(handler)
        opc.setLevel(previous)
