"""Encoding detection of non-UTF-8 source files: the right code page, never silently mangled."""

from __future__ import annotations

import pytest

from opc_data.encoding import EncodingConfig, decode_bytes, reason_code

CASES = [
    ("cp1252", "// Größe: über Maß — “quoted” café crème, déjà vu, naïve façade.\nint x = 1;\n"),
    ("latin-1", "# Autor: José Núñez, año 2024, configuración\nx = 'señal'\n"),
    ("cp1251", "// Привет, мир! Это комментарий на русском языке.\nint main() { return 0; }\n"),
    ("shift_jis", "// 日本語のコメントです。これはテストファイルです。\nint x = 0;\n"),
    ("gbk", "# 这是一个中文注释，用于测试编码检测是否正确。\nprint('你好，世界')\n"),
]


@pytest.mark.parametrize(("codec", "text"), CASES, ids=[c for c, _ in CASES])
def test_non_utf8_text_is_decoded_back_to_the_original(codec, text):
    data = text.encode(codec)
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    d = decode_bytes(data)
    assert d.quarantine_reason is None and not d.is_binary
    assert d.content == text, d.src_encoding
    assert d.content.encode(d.src_encoding) == data


def test_utf8_is_taken_as_is_bom_included():
    data = "\ufeffprint('héllo')\n".encode()
    d = decode_bytes(data)
    assert (d.content, d.src_encoding, d.quarantine_reason) == ("\ufeffprint('héllo')\n", "UTF-8", None)


def test_detection_off_quarantines_non_utf8_with_the_failing_byte():
    d = decode_bytes("café".encode("latin-1"), EncodingConfig(detect=False))
    assert reason_code(d.quarantine_reason) == "undecodable"
    assert "byte 3" in d.quarantine_reason and "detection off" in d.quarantine_reason
    assert d.content.encode("latin-1") == "café".encode("latin-1")
