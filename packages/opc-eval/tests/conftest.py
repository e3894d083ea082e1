from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def eval_data(shared_dir: Path) -> Path:
    d = shared_dir / "data" / "eval"
    if not d.exists():
        pytest.skip(f"eval data not found at {d}")
    return d
