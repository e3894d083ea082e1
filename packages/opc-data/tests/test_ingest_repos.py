"""Directories and archives of repositories: same records from a folder, a .tar.gz and a .zip; git blob ids;
licences from the repository's licence file; links refused with a reason; nothing extracted to disk."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from opc_data.encoding import reason_code
from opc_data.ingest import IngestConfig, UriSource, plan_units, read_records

MIT = """MIT License

Copyright (c) 2024 Someone

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.
"""

FILES = {
    "alpha/LICENSE": MIT.encode(),
    "alpha/src/main.py": b"def main():\n    return 42\n",
    "alpha/src/util.c": "/* caf\u00e9 */\nint x = 1;\n".encode(),
    "alpha/README.md": b"# Alpha\n\nA tiny repo.\n",
    "alpha/.git/HEAD": b"ref: refs/heads/main\n",
    "beta/go.mod": b"module example.com/beta\n",
    "beta/empty.txt": b"",
    "beta/data/blob.bin": b"\x00\x01\x02binary",
    "notes.txt": b"a loose top-level file\n",
}


def _make_tree(root: Path) -> Path:
    for rel, data in FILES.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return root


def _key(records):
    return sorted((r["repo_name"], r["path"], r["blob_id"], r["size"], r["content"], r["quarantine_reason"]) for r in records)


@pytest.fixture
def tree(tmp_path) -> Path:
    return _make_tree(tmp_path / "corpus")


def test_directory_repositories_records_and_git_blob_ids(tree):
    recs = list(read_records(str(tree), IngestConfig()))
    by = {(r["repo_name"], r["path"]): r for r in recs}
    assert set(by) == {
        ("alpha", "LICENSE"), ("alpha", "src/main.py"), ("alpha", "src/util.c"), ("alpha", "README.md"),
        ("beta", "go.mod"), ("beta", "empty.txt"), ("beta", "data/blob.bin"), ("corpus", "notes.txt"),
    }  # .git is not entered; the loose file belongs to a repository named after the folder
    for (repo, path), r in by.items():
        rel = path if repo == "corpus" else f"{repo}/{path}"
        git = subprocess.run(["git", "hash-object", str(tree / rel)], capture_output=True, check=True, text=True)
        assert r["blob_id"] == git.stdout.strip()
        assert r["size"] == len(FILES[rel])
    assert by[("alpha", "src/main.py")]["license"] == "MIT"
    assert by[("beta", "go.mod")]["license"] is None
    assert by[("beta", "empty.txt")]["content"] == "" and by[("beta", "empty.txt")]["quarantine_reason"] is None
    assert reason_code(by[("beta", "data/blob.bin")]["quarantine_reason"]) == "binary"
    assert by[("alpha", "src/util.c")]["content"] == "/* caf\u00e9 */\nint x = 1;\n"


def test_each_repository_is_its_own_unit_of_work(tree):
    units = plan_units(IngestConfig(sources=[str(tree)]))
    assert [(u.kind, u.repo_name) for u in units] == [("repo_dir", "alpha"), ("repo_dir", "beta"), ("repo_dir", "corpus")]


def test_repo_name_option_makes_the_whole_tree_one_repository(tree):
    recs = list(read_records(UriSource(uri=str(tree / "alpha"), repo_name="me/alpha", license="Apache-2.0"), IngestConfig()))
    assert {r["repo_name"] for r in recs} == {"me/alpha"}
    assert {r["path"] for r in recs} == {"LICENSE", "src/main.py", "src/util.c", "README.md"}
    assert {r["license"] for r in recs} == {"Apache-2.0"}  # the source's licence overrides detection


def _tar(tree: Path, out: Path, mode: str = "w:gz") -> Path:
    with tarfile.open(out, mode) as tf:
        for rel in sorted(FILES):
            tf.add(tree / rel, arcname=rel)
    return out


def _zip(tree: Path, out: Path) -> Path:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel in sorted(FILES):
            zf.write(tree / rel, arcname=rel)
    return out


@pytest.mark.parametrize("kind", ["tar.gz", "tar", "zip"])
def test_archives_give_the_same_records_as_the_directory(tree, tmp_path, kind):
    arch = tmp_path / f"corpus.{kind}"
    if kind == "zip":
        _zip(tree, arch)
    else:
        _tar(tree, arch, "w:gz" if kind == "tar.gz" else "w")
    before = sorted(os.listdir(tmp_path))
    from_dir = list(read_records(str(tree), IngestConfig()))
    from_arch = list(read_records(str(arch), IngestConfig()))
    assert _key(from_arch) == _key(from_dir)
    assert {r["license"] for r in from_arch if r["repo_name"] == "alpha"} == {"MIT"}
    assert sorted(os.listdir(tmp_path)) == before  # nothing extracted


def test_symlinks_in_a_directory_are_recorded_not_followed(tree, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("outside the corpus\n")
    os.symlink(secret, tree / "alpha" / "leak.txt")
    os.symlink(tmp_path, tree / "beta" / "up")
    recs = list(read_records(str(tree), IngestConfig()))
    links = {r["path"]: r for r in recs if reason_code(r["quarantine_reason"]) == "link"}
    assert set(links) == {"leak.txt", "up"}
    assert all(r["content"] == "" for r in links.values())
    assert "outside the corpus" not in "".join(r["content"] for r in recs)


def test_archive_members_in_memory_only_tar_links_and_traversal(tmp_path):
    arch = tmp_path / "evil.tar.gz"
    with tarfile.open(arch, "w:gz") as tf:
        def add(name, data=b"", **kw):
            info = tarfile.TarInfo(name)
            for k, v in kw.items():
                setattr(info, k, v)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data) if data else None)
        add("repo/ok.py", b"x = 1\n")
        add("../escape.py", b"print('pwned')\n")
        add("/etc/passwd-copy", b"root:x:0:0\n")
        add("repo/link", type=tarfile.SYMTYPE, linkname="/etc/passwd")
        add("repo/hard", type=tarfile.LNKTYPE, linkname="repo/ok.py")
    recs = list(read_records(str(arch), IngestConfig()))
    codes = {r["path"]: reason_code(r["quarantine_reason"]) for r in recs}
    assert codes == {"ok.py": None, "../escape.py": "unsafe_path", "/etc/passwd-copy": "unsafe_path",
                     "link": "link", "hard": "link"}
    assert not (tmp_path.parent / "escape.py").exists()
