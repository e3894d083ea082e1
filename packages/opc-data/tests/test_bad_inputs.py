"""The bad-input catalogue: each kind of broken input gives a clear error or a quarantined record, and the
records that come out account for every input entry (nothing lost)."""

from __future__ import annotations

import gzip
import io
import json
import os
import stat
import subprocess
import tarfile
import zipfile

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from opc_core.errors import OpcError
from opc_data.encoding import reason_code
from opc_data.ingest import ArchiveLimits, IngestConfig, read_records
from opc_data.records import to_table

EMPTY_BLOB = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"  # git's id of the empty file
MiB = 1024 * 1024


def _codes(records):
    return [reason_code(r["quarantine_reason"]) for r in records]


def _jsonl(path, lines: list[bytes]):
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return str(path)


def _ok(repo="o/r", path="a.py", content="x = 1\n", **extra) -> bytes:
    return json.dumps({"repo_name": repo, "path": path, "content": content, **extra}).encode()


# ------------------------------------------------------------------------------- file contents


def test_invalid_utf8_is_decoded_by_detection_or_quarantined_losslessly(tmp_path):
    repo = tmp_path / "r"
    repo.mkdir()
    western = "Größe: über Maß, café crème — déjà vu.\n".encode("cp1252")
    garbage = b"\xce\xb2\x01\x02\x9c\xff" * 20
    (repo / "w.txt").write_bytes(western)
    (repo / "g.txt").write_bytes(garbage)
    recs = {r["path"]: r for r in read_records(str(tmp_path), IngestConfig())}
    assert len(recs) == 2
    assert recs["w.txt"]["quarantine_reason"] is None and recs["w.txt"]["src_encoding"] == "cp1252"
    assert recs["w.txt"]["content"].encode("cp1252") == western
    assert reason_code(recs["g.txt"]["quarantine_reason"]) == "undecodable"
    assert recs["g.txt"]["content"].encode("latin-1") == garbage
    keep_latin1 = IngestConfig(encoding={"on_undecodable": "latin-1"})
    g = next(r for r in read_records(str(tmp_path), keep_latin1) if r["path"] == "g.txt")
    assert g["quarantine_reason"] is None and g["src_encoding"] == "ISO-8859-1"


def test_nul_bytes_mean_binary_and_are_quarantined_with_content_kept(tmp_path):
    (tmp_path / "r").mkdir()
    data = b"PK\x03\x04\x00\x00binary payload"
    (tmp_path / "r" / "x.dat").write_bytes(data)
    (rec,) = read_records(str(tmp_path), IngestConfig())
    assert rec["is_binary"] and reason_code(rec["quarantine_reason"]) == "binary"
    assert rec["content"].encode("latin-1") == data and rec["size"] == len(data)


def test_empty_files_are_ordinary_records(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "__init__.py").write_bytes(b"")
    lines = _jsonl(tmp_path / "e.jsonl", [_ok(content="")])
    for source in (str(tmp_path / "r"), lines):
        (rec,) = read_records(source, IngestConfig())
        assert (rec["content"], rec["size"], rec["blob_id"], rec["quarantine_reason"]) == ("", 0, EMPTY_BLOB, None)


def test_a_50_mb_file_is_quarantined_oversize_without_loading_it_into_the_record(tmp_path):
    repo = tmp_path / "big"
    repo.mkdir()
    big = repo / "huge.sql"
    with open(big, "wb") as f:
        chunk = b"INSERT INTO t VALUES (1, 'abc');\n" * 32768
        while f.tell() < 50 * MiB:
            f.write(chunk)
    (repo / "small.sql").write_text("SELECT 1;\n")
    recs = {r["path"]: r for r in read_records(str(tmp_path), IngestConfig())}
    assert len(recs) == 2
    huge = recs["huge.sql"]
    assert reason_code(huge["quarantine_reason"]) == "oversize" and huge["content"] == ""
    assert huge["size"] == big.stat().st_size > 8 * MiB
    git = subprocess.run(["git", "hash-object", str(big)], capture_output=True, text=True, check=True)
    assert huge["blob_id"] == git.stdout.strip()
    assert recs["small.sql"]["quarantine_reason"] is None
    # the limit comes from the recipe
    raised = IngestConfig(max_file_bytes=64 * MiB)
    assert next(r for r in read_records(str(tmp_path), raised) if r["path"] == "huge.sql")["quarantine_reason"] is None


def test_oversize_record_in_a_jsonl_dump_is_quarantined(tmp_path):
    path = _jsonl(tmp_path / "big.jsonl", [_ok(content="a" * 2000), _ok(path="b.py", content="b\n")])
    recs = list(read_records(path, IngestConfig(max_file_bytes=1000)))
    assert _codes(recs) == ["oversize", None]
    assert recs[0]["size"] == 2000 and recs[0]["content"] == ""


# ------------------------------------------------------------------------------- record files


def test_malformed_jsonl_lines_are_quarantined_with_their_line_and_counts_add_up(tmp_path):
    lines = [
        _ok(path="1.py"),
        b'{"repo_name": "o/r", "path": "2.py", "content": "trunc',  # cut-off JSON
        b"",  # blank: not a record
        b'["a", "list"]',  # JSON but not an object
        _ok(path="5.py", content="ok\n"),
        b'{"repo_name": "o/r", "path": "6.py", "content": "\xff\xfe bad utf-8"}',
        json.dumps({"repo_name": "o/r", "path": "7.py", "content": 12345}).encode(),  # impossible type
        b'{"repo_name": "o/r", "path": "8.py", "content": "lone \\ud800 surrogate"}',  # not storable text
        _ok(path="9.py"),
    ]
    path = _jsonl(tmp_path / "m.jsonl", lines)
    recs = list(read_records(path, IngestConfig()))
    assert len(recs) == 8  # 9 lines, one blank
    assert _codes(recs) == [None, "malformed_record", "malformed_record", None, "malformed_record",
                            "malformed_record", "malformed_record", None]
    bad = [r for r in recs if r["quarantine_reason"]]
    assert [r["path"] for r in bad] == [f"{path}:{n}" for n in (2, 4, 6, 7, 8)]
    to_table(recs)  # every record, quarantined ones included, is storable
    assert all(f"{path}:" in r["quarantine_reason"] for r in bad)
    assert bad[0]["content"].startswith('{"repo_name": "o/r", "path": "2.py"')  # the raw line is kept
    with pytest.raises(OpcError, match=r"m\.jsonl:2"):
        list(read_records(path, IngestConfig(strict=True)))


def test_missing_required_field_is_an_error_naming_file_and_line(tmp_path):
    path = _jsonl(tmp_path / "x.jsonl", [_ok(), json.dumps({"repo_name": "o/r", "path": "b.py"}).encode()])
    with pytest.raises(OpcError, match=r"x\.jsonl:2.*no field 'content'"):
        list(read_records(path, IngestConfig()))


def test_truncated_gzip_is_an_error_naming_the_file_and_last_good_line(tmp_path):
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb") as gz:
        for i in range(2000):
            gz.write(_ok(path=f"{i}.py", content=f"x = {i}  # {os.urandom(16).hex()}\n", license="MIT") + b"\n")
    data = buf.getvalue()
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    got = []
    with pytest.raises(OpcError, match=r"cut\.jsonl\.gz.*truncated or corrupt compressed stream after line \d+"):
        for r in read_records(str(path), IngestConfig()):
            got.append(r)
    assert 0 < len(got) < 2000  # records before the damage were delivered, and the error says how many


def test_truncated_parquet_is_an_error_naming_the_file(tmp_path):
    table = pa.table({"repo_name": ["o/r"] * 100, "path": [f"{i}.py" for i in range(100)], "content": ["x\n"] * 100})
    full = tmp_path / "full.parquet"
    pq.write_table(table, full)
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(full.read_bytes()[:-200])
    with pytest.raises(OpcError, match=r"cut\.parquet.*not a readable Parquet file"):
        list(read_records(str(cut), IngestConfig()))
    assert len(list(read_records(str(full), IngestConfig()))) == 100


def test_wrong_schema_parquet_is_an_error_listing_the_columns(tmp_path):
    pq.write_table(pa.table({"repo_name": ["o/r"], "path": ["a.py"], "text_body": ["x"]}), tmp_path / "w.parquet")
    with pytest.raises(OpcError, match=r"wrong schema: no column for \['content'\].*text_body"):
        list(read_records(str(tmp_path / "w.parquet"), IngestConfig()))
    pq.write_table(pa.table({"repo_name": ["o/r"], "path": ["a.py"], "content": [1]}), tmp_path / "t.parquet")
    with pytest.raises(OpcError, match="not string or binary"):
        list(read_records(str(tmp_path / "t.parquet"), IngestConfig()))


def test_null_required_value_in_parquet_names_the_row(tmp_path):
    pq.write_table(pa.table({"repo_name": ["o/r", None], "path": ["a.py", "b.py"], "content": ["x", "y"]}),
                   tmp_path / "n.parquet")
    with pytest.raises(OpcError, match=r"n\.parquet: row 2.*'repo_name' is null"):
        list(read_records(str(tmp_path / "n.parquet"), IngestConfig()))


# ------------------------------------------------------------------------------- archives


def _zip_with(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data, mode in members:
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if mode:
                info.external_attr = mode << 16
            zf.writestr(info, data)
    return str(path)


def test_path_traversal_in_archives_is_refused_and_nothing_is_written(tmp_path):
    cwd_before = sorted(os.listdir(tmp_path))
    z = _zip_with(tmp_path / "t.zip", [
        ("repo/a.py", b"a = 1\n", 0), ("../../evil.py", b"boom\n", 0), ("/abs/evil.py", b"boom\n", 0),
        ("C:\\win\\evil.py", b"boom\n", 0), ("repo/sub/../../../evil2.py", b"boom\n", 0),
    ])
    recs = list(read_records(z, IngestConfig()))
    assert len(recs) == 5
    assert _codes(recs) == [None, "unsafe_path", "unsafe_path", "unsafe_path", "unsafe_path"]
    assert all(r["content"] == "" for r in recs[1:])
    assert sorted(os.listdir(tmp_path)) == sorted([*cwd_before, "t.zip"])
    assert not (tmp_path.parent / "evil.py").exists()


def test_symlinks_in_zip_and_tar_archives_are_refused_with_a_reason(tmp_path):
    z = _zip_with(tmp_path / "l.zip", [("repo/a.py", b"a\n", 0), ("repo/link", b"/etc/passwd", stat.S_IFLNK | 0o777)])
    recs = list(read_records(z, IngestConfig()))
    assert _codes(recs) == [None, "link"]
    assert "/etc/passwd" in recs[1]["quarantine_reason"] and recs[1]["content"] == ""
    t = tmp_path / "l.tar.gz"
    with tarfile.open(t, "w:gz") as tf:
        info = tarfile.TarInfo("repo/link")
        info.type, info.linkname = tarfile.SYMTYPE, "../../../etc/shadow"
        tf.addfile(info)
    (rec,) = read_records(str(t), IngestConfig())
    assert reason_code(rec["quarantine_reason"]) == "link"


def test_zip_bomb_members_are_quarantined_by_ratio_and_budget(tmp_path):
    limits = ArchiveLimits(ratio_min_bytes=1 * MiB, max_ratio=100, max_total_bytes=3 * MiB)
    cfg = IngestConfig(archive=limits)
    z = _zip_with(tmp_path / "bomb.zip", [
        ("repo/a.py", b"a = 1\n", 0),
        ("repo/zeros.txt", b"\0" * (4 * MiB), 0),  # ~1000x
        ("repo/b.txt", os.urandom(1 * MiB).hex().encode()[: 2 * MiB], 0),  # incompressible-ish, honest
        ("repo/c.txt", os.urandom(1 * MiB).hex().encode()[: 2 * MiB], 0),  # pushes past max_total_bytes
    ])
    recs = list(read_records(z, cfg))
    assert _codes(recs) == [None, "zip_bomb", None, "archive_limit"]
    assert recs[1]["content"] == "" and recs[1]["size"] == 4 * MiB


def test_tar_gz_bomb_stops_with_an_error_naming_the_archive(tmp_path):
    t = tmp_path / "bomb.tar.gz"
    with tarfile.open(t, "w:gz") as tf:
        data = b"\0" * (6 * MiB)
        info = tarfile.TarInfo("repo/zeros.bin")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    cfg = IngestConfig(archive=ArchiveLimits(ratio_min_bytes=1 * MiB, max_ratio=100))
    with pytest.raises(OpcError, match=r"bomb\.tar\.gz.*expands \d+x.*max_ratio"):
        list(read_records(str(t), cfg))


def test_truncated_archives_are_errors_naming_the_archive(tmp_path):
    t = tmp_path / "cut.tar.gz"
    with tarfile.open(t, "w:gz") as tf:
        for i in range(50):
            data = os.urandom(4000)
            info = tarfile.TarInfo(f"repo/f{i}.bin")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    t.write_bytes(t.read_bytes()[:100_000])
    with pytest.raises(OpcError, match=r"cut\.tar\.gz.*truncated or corrupt archive after member"):
        list(read_records(str(t), IngestConfig()))
    z = tmp_path / "cut.zip"
    _zip_with(z, [("repo/a.py", b"a\n" * 1000, 0)])
    z.write_bytes(z.read_bytes()[:-30])
    with pytest.raises(OpcError, match=r"cut\.zip.*not a readable zip archive"):
        list(read_records(str(z), IngestConfig()))
