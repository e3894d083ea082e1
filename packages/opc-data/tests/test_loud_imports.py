"""A broken language module stops the run: no fallback that silently drops that language's rules."""

from __future__ import annotations

import pytest

from opc_data import signals


def test_a_language_signal_module_that_fails_to_import_is_an_error(monkeypatch):
    monkeypatch.setitem(signals.LANG_MODULES, "python", "lang_python_missing")
    monkeypatch.delitem(signals._loaded, "lang_python_missing", raising=False)
    with pytest.raises(ModuleNotFoundError, match="lang_python_missing"):
        signals.compute_signals({"path": "a.py", "content": "x = 1\n", "program_lang": "python", "doc_type": "code"})
