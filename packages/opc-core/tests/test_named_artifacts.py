"""Named artifacts: a stage names the products downstream stages read; a missing name is a clear error."""

from __future__ import annotations

import pytest

from opc_core.errors import OpcError
from opc_core.manifest import Manifest


def _manifest(**kw) -> Manifest:
    return Manifest(stage="tokenize", key="abc", uri="/w/tokenize/abc", fingerprint="f", code_version="c",
                    created="2026-01-01T00:00:00Z", **kw)


def test_a_named_artifact_resolves_inside_the_output():
    m = _manifest(artifacts={"tokenizer": "tokenizer"})
    assert m.artifact("tokenizer") == "/w/tokenize/abc/tokenizer"


def test_an_unknown_artifact_names_the_output_and_what_it_has():
    with pytest.raises(OpcError, match=r"no artifact named 'final' \(it has: tokenizer\)"):
        _manifest(artifacts={"tokenizer": "tokenizer"}).artifact("final")
