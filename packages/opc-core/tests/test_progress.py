"""Progress off a terminal (CI, log files): periodic lines with done/total and a rate, and a last line
when a long loop ends, so a long stage is never silent."""

from __future__ import annotations

import logging
import time

import pytest

from opc_core.progress import track


@pytest.fixture
def caplog(caplog):
    """Capture ``opc.progress`` even after ``setup_logging`` stopped ``opc`` propagating to the root."""
    logger = logging.getLogger("opc.progress")
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)


def test_progress_lines_carry_totals_and_a_rate(caplog):
    with caplog.at_level(logging.INFO, logger="opc.progress"):
        items = []
        for i in track(range(3), "data: shards", unit="shards", every=0.0):
            time.sleep(0.01)
            items.append(i)
    assert items == [0, 1, 2]
    lines = [r.getMessage() for r in caplog.records if r.name == "opc.progress"]
    assert lines and lines[-1].startswith("data: shards: 3/3 (") and "shards/s" in lines[-1]


def test_a_short_loop_stays_quiet(caplog):
    with caplog.at_level(logging.INFO, logger="opc.progress"):
        assert list(track([1, 2], "quick")) == [1, 2]
    assert not [r for r in caplog.records if r.name == "opc.progress"]
