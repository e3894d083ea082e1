from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest


def load_parity_cases() -> ModuleType:
    """The parity fixture module (test data, not product code): loaded by path, as the benchmark does."""
    spec = importlib.util.spec_from_file_location("parity_cases", Path(__file__).with_name("parity_cases.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def parity_cases() -> ModuleType:
    return load_parity_cases()


@pytest.fixture(scope="session")
def eval_data(shared_dir: Path) -> Path:
    d = shared_dir / "data" / "eval"
    if not d.exists():
        pytest.skip(f"eval data not found at {d}")
    return d
