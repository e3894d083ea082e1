"""Fixtures of the data package: the language-signal agreement measured on dev.

Spark tests use the one local session of the root conftest (``spark``: Spark starts in 5-15 s, so every
Spark test shares it). Tests that use it are marked ``spark``.
"""

from __future__ import annotations

import pytest

# ── Language-signal agreement (test_signals_lang_*.py; the logic lives in signal_agreement.py) ──────────


@pytest.fixture(scope="module")
def signal_agreement(request: pytest.FixtureRequest, shared_dir):
    """The requesting test module's ``AGREEMENT`` spec measured on dev: a ``signal_agreement.Agreement``.

    Loaded by path because tests run with ``--import-mode=importlib`` (no sibling imports).
    """
    import importlib.util
    import sys
    from pathlib import Path

    name = "opc_data_tests_signal_agreement"
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("signal_agreement.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses resolve their module through sys.modules
        spec.loader.exec_module(module)
    return module.measure(shared_dir, **request.module.AGREEMENT)
