"""One JSONL reader: plain or gzip (by magic bytes), local or s3://, blank lines skipped, bad lines named."""

from __future__ import annotations

import gzip

import pytest

from opc_core.errors import OpcError
from opc_core.jsonl import iter_jsonl, read_jsonl


def test_plain_and_gzip_read_the_same_and_skip_blank_lines(tmp_path):
    text = '{"a": 1}\n\n{"a": 2}\n'
    (tmp_path / "x.jsonl").write_text(text)
    (tmp_path / "y.data").write_bytes(gzip.compress(text.encode()))  # gzip found by content, not by name
    assert read_jsonl(tmp_path / "x.jsonl") == read_jsonl(tmp_path / "y.data") == [{"a": 1}, {"a": 2}]
    assert [n for n, _ in iter_jsonl(tmp_path / "x.jsonl")] == [1, 3]


def test_a_bad_line_names_the_file_and_the_line(tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"a": 1}\n{"a": \n')
    with pytest.raises(OpcError, match="line 2 is not JSON") as exc:
        read_jsonl(tmp_path / "bad.jsonl")
    assert "bad.jsonl" in str(exc.value)
    with pytest.raises(OpcError, match="samples file not found"):
        read_jsonl(tmp_path / "missing.jsonl", "samples file")
