"""Reading raw dumps from s3:// (a real S3-compatible server on loopback) gives the same records as local."""

from __future__ import annotations

import gzip
import json
import zipfile

import pyarrow as pa
import pyarrow.parquet as pq

from opc_core import storage
from opc_data.ingest import IngestConfig, external_fingerprint, plan_units, read_records


def _strip(records):
    return [{k: v for k, v in r.items() if k != "source"} for r in records]


def test_s3_record_files_directories_and_archives_match_local(shared_dir, s3_bucket, tmp_path):
    raw = []
    with gzip.open(shared_dir / "data" / "raw_code" / "dev.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            raw.append(json.loads(line))
            if len(raw) == 120:
                break
    local = tmp_path / "local"
    (local / "dump").mkdir(parents=True)
    with gzip.open(local / "dump" / "part-0.jsonl.gz", "wt", encoding="utf-8") as f:
        for r in raw[:60]:
            f.write(json.dumps(r) + "\n")
    pq.write_table(pa.Table.from_pylist(raw[60:]), local / "dump" / "part-1.parquet")
    repos = local / "repos"
    for r in raw[:40]:
        p = repos / r["repo_name"].replace("/", "__") / r["path"]
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(r["content"].encode("latin-1" if r["src_encoding"] == "ISO-8859-1" else "utf-8"))
    with zipfile.ZipFile(local / "repos.zip", "w") as zf:
        for p in sorted(repos.rglob("*")):
            if p.is_file():
                zf.write(p, p.relative_to(repos).as_posix())
    storage.upload_dir(local, f"{s3_bucket}/raw")

    s3_dump = list(read_records(f"{s3_bucket}/raw/dump", IngestConfig()))
    assert [u.kind for u in plan_units(IngestConfig(sources=[f"{s3_bucket}/raw/dump"]))] == ["jsonl", "parquet"]
    assert _strip(s3_dump) == _strip(read_records(str(local / "dump"), IngestConfig()))
    assert len(s3_dump) == 120 and [r["blob_id"] for r in s3_dump] == [r["blob_id"] for r in raw]
    assert s3_dump[0]["source"].startswith("s3://")

    s3_repos = list(read_records(f"{s3_bucket}/raw/repos", IngestConfig()))
    assert sorted(map(str, _strip(s3_repos))) == sorted(map(str, _strip(read_records(str(repos), IngestConfig()))))
    assert {r["blob_id"] for r in s3_repos} == {r["blob_id"] for r in raw[:40]}

    s3_zip = list(read_records(f"{s3_bucket}/raw/repos.zip", IngestConfig()))
    assert sorted(map(str, _strip(s3_zip))) == sorted(map(str, _strip(s3_repos)))

    glob = list(read_records(f"{s3_bucket}/raw/dump/*.parquet", IngestConfig()))
    assert len(glob) == 60

    cfg = IngestConfig(sources=[f"{s3_bucket}/raw/dump"])
    fp = external_fingerprint(cfg)
    assert fp == external_fingerprint(cfg)
    storage.write_bytes_atomic(f"{s3_bucket}/raw/dump/part-0.jsonl.gz", gzip.compress(b""))
    assert external_fingerprint(cfg) != fp
