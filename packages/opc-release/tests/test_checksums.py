"""SHA256SUMS: GNU format that coreutils accepts, covering every file but itself; tampering is detected."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from opc_release.checksums import SUMS_FILE, check_sums, write_sums


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "rel"
    (root / "sub").mkdir(parents=True)
    (root / "config.json").write_text('{"a": 1}\n')
    (root / "model.safetensors").write_bytes(bytes(range(256)) * 10)
    (root / "sub" / "notes.txt").write_text("two  spaces and ünïcode\n")
    write_sums(root)
    return root


def test_gnu_sha256sum_accepts_our_file(tree):
    if shutil.which("sha256sum") is None:
        pytest.skip("coreutils sha256sum not installed")
    out = subprocess.run(["sha256sum", "-c", SUMS_FILE], cwd=tree, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count(": OK") == 3


def test_every_file_but_itself_is_listed(tree):
    lines = (tree / SUMS_FILE).read_text().splitlines()
    assert [line.split("  ", 1)[1] for line in lines] == ["config.json", "model.safetensors", "sub/notes.txt"]
    assert check_sums(tree) == []


def test_modified_added_and_removed_files_are_reported(tree):
    data = bytearray((tree / "model.safetensors").read_bytes())
    data[100] ^= 1
    (tree / "model.safetensors").write_bytes(bytes(data))
    (tree / "extra.bin").write_bytes(b"x")
    (tree / "sub" / "notes.txt").unlink()
    problems = check_sums(tree)
    assert "model.safetensors: checksum mismatch (modified after release)" in problems
    assert "extra.bin: present but not listed in SHA256SUMS" in problems
    assert "sub/notes.txt: listed but missing" in problems


def test_missing_or_garbled_sums_file_fails(tree):
    (tree / SUMS_FILE).write_text("not a checksum line\n")
    assert "line 1" in check_sums(tree)[0]
    (tree / SUMS_FILE).unlink()
    assert check_sums(tree) == ["SHA256SUMS is missing"]
