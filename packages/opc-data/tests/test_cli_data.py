"""`opc data filter` / `opc data dedup` as users run them: real subprocesses, local paths and s3://."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest

REPO = Path(__file__).resolve().parents[3]
OPC = str(REPO / ".venv/bin/opc")


def _opc(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([OPC, *args], capture_output=True, text=True, cwd=REPO, timeout=600,
                          env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def dev_slice(shared_dir, tmp_path_factory) -> Path:
    """~300 dev records with exact copies (psf/requests vs its v2.31.0 pseudo-fork) and binaries."""
    out = tmp_path_factory.mktemp("slice") / "slice.jsonl.gz"
    with gzip.open(shared_dir / "data/raw_code/dev.jsonl.gz", "rt", encoding="utf-8") as fh, \
            gzip.open(out, "wt", encoding="utf-8") as dst:
        for i, line in enumerate(fh):
            rec = json.loads(line)
            if rec["repo_name"].startswith("psf/requests") or rec["is_binary"] or i % 25 == 0:
                dst.write(line)
    return out


def _records(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _only_parquet_and_metadata(folder: Path) -> list[Path]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert all(p.suffix == ".parquet" or p.name.startswith("_") for p in files), files
    return sorted(p for p in files if p.suffix == ".parquet")


def test_filter_writes_one_row_per_record_with_the_documented_columns(dev_slice, tmp_path):
    out = tmp_path / "new" / "filtered"  # parent does not exist either
    proc = _opc("data", "filter", str(dev_slice), str(out))
    assert proc.returncode == 0, proc.stderr
    records = _records(dev_slice)
    parts = _only_parquet_and_metadata(out)
    table = pq.read_table(parts[0].parent)
    rows = table.to_pylist()
    assert [(r["repo_name"], r["path"]) for r in rows] == [(r["repo_name"], r["path"]) for r in records]
    for col in ("repo_name", "path", "blob_id", "program_lang", "doc_type", "keep", "rules_fired",
                "qsc_code_num_words", "qsc_code_frac_chars_alphabet"):
        assert col in table.column_names
    # the library's one filter schema, column for column (names, order and types)
    from opc_data.filtering import FILTER_SCHEMA, ROW_COLUMNS, SIGNAL_COLUMNS

    assert table.column_names == [*ROW_COLUMNS, *SIGNAL_COLUMNS]
    assert [(f.name, f.type) for f in table.schema] == [(f.name, f.type) for f in FILTER_SCHEMA]
    binaries = [r for r, rec in zip(rows, records, strict=True) if rec["is_binary"]]
    assert binaries and not any(r["keep"] for r in binaries)
    assert all(r["rules_fired"] for r in rows if r["reject_reason"] == "rules")
    kept = sum(r["keep"] for r in rows)
    quarantined = sum(str(r["reject_reason"]).startswith("quarantined") for r in rows)
    summary = proc.stderr.strip().splitlines()[-1]
    assert summary == (f"opc data filter: records in {len(rows)}, kept {kept}, rejected {len(rows) - kept - quarantined}, "
                       f"quarantined {quarantined} -> {out}")


def test_dedup_marks_every_record_kept_or_duplicate_of_a_kept_one(dev_slice, tmp_path):
    out = tmp_path / "dedup"
    proc = _opc("data", "dedup", str(dev_slice), str(out))
    assert proc.returncode == 0, proc.stderr
    rows = pq.read_table(_only_parquet_and_metadata(out)[0].parent).to_pylist()
    records = _records(dev_slice)
    assert len(rows) == len(records)
    kept = {(r["repo_name"], r["path"]) for r in rows if r["keep"]}
    quarantined = [r for r in rows if str(r["reject_reason"]).startswith("quarantined: ")]
    dups = [r for r in rows if not r["keep"] and r not in quarantined]
    assert any(r["dup_kind"] == "exact" for r in dups)
    for r in rows:
        if r in quarantined:
            assert r["dup_kind"] is None and not r["keep"]
        elif r["keep"]:
            assert r["dup_kind"] is None and r["duplicate_of_path"] is None
        else:
            assert r["dup_kind"] in ("exact", "fuzzy")
            assert (r["duplicate_of_repo_name"], r["duplicate_of_path"]) in kept
    content = {(r["repo_name"], r["path"]): r["content"] for r in records}
    for r in dups:
        if r["dup_kind"] == "exact":
            assert content[(r["repo_name"], r["path"])] == content[(r["duplicate_of_repo_name"], r["duplicate_of_path"])]
    assert f"records in {len(rows)}, kept {len(kept)}, rejected {len(dups)}, quarantined {len(quarantined)}" \
        in proc.stderr


def test_filter_and_dedup_quarantine_the_same_records_for_the_same_reasons(dev_slice, tmp_path):
    small = tmp_path / "small.jsonl.gz"  # the binaries and a few text files
    records = [r for i, r in enumerate(_records(dev_slice)) if r["is_binary"] or i < 20]
    with gzip.open(small, "wt", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in records)
    reasons = {}
    for command in ("filter", "dedup"):
        proc = _opc("data", command, str(small), str(tmp_path / command), "--workers", "1") if command == "filter" \
            else _opc("data", command, str(small), str(tmp_path / command))
        assert proc.returncode == 0, proc.stderr
        rows = pq.read_table(_only_parquet_and_metadata(tmp_path / command)[0].parent,
                             columns=["repo_name", "path", "reject_reason"]).to_pylist()
        reasons[command] = {(r["repo_name"], r["path"]): r["reject_reason"] for r in rows
                            if str(r["reject_reason"]).startswith("quarantined")}
    binaries = {(r["repo_name"], r["path"]) for r in records if r["is_binary"]}
    assert binaries and binaries <= set(reasons["dedup"])
    assert reasons["dedup"] == reasons["filter"]


def test_unreadable_input_exits_non_zero_with_a_message_naming_it(tmp_path):
    missing = tmp_path / "missing.jsonl.gz"
    for command in ("filter", "dedup"):
        proc = _opc("data", command, str(missing), str(tmp_path / "o"))
        assert proc.returncode != 0
        assert "missing.jsonl.gz" in proc.stderr and "not found" in proc.stderr
    truncated = tmp_path / "truncated.jsonl.gz"
    truncated.write_bytes(gzip.compress(b'{"repo_name": "a/b", "path": "x.py", "content": "x = 1\\n"}\n' * 200)[:60])
    proc = _opc("data", "filter", str(truncated), str(tmp_path / "t"))
    assert proc.returncode != 0 and "truncated.jsonl.gz" in proc.stderr
    assert not list(tmp_path.glob("t/*.parquet"))  # nothing half-written is left behind


def test_filter_and_dedup_read_and_write_s3(dev_slice, s3_bucket, s3_server):
    import s3fs

    fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": s3_server})
    fs.put(str(dev_slice), f"{s3_bucket[5:]}/raw/slice.jsonl.gz")
    env = {"OPC_S3_ENDPOINT_URL": s3_server}
    for command in ("filter", "dedup"):
        out = f"{s3_bucket}/out/{command}"
        proc = _opc("data", command, f"{s3_bucket}/raw/slice.jsonl.gz", out, env=env)
        assert proc.returncode == 0, proc.stderr
        names = sorted(p.rsplit("/", 1)[-1] for p in fs.find(out[5:]))
        assert names[-1] == "part-00000.parquet" and all(n.endswith(".parquet") or n.startswith("_") for n in names)
        with fs.open(f"{out[5:]}/part-00000.parquet", "rb") as f:
            assert pq.read_table(f).num_rows == len(_records(dev_slice))
