"""Stack-style JSONL / Parquet readers: every record kept, fields defaulted, encodings recovered."""

from __future__ import annotations

import gzip
import json
import subprocess

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from opc_data.encoding import reason_code
from opc_data.ingest import IngestConfig, external_fingerprint, iter_batches, plan_units, read_records
from opc_data.records import RAW_FIELDS, RAW_SCHEMA, git_blob_id, to_table


def _dev_lines(shared_dir, n=None):
    out = []
    with gzip.open(shared_dir / "data" / "raw_code" / "dev.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            out.append(json.loads(line))
            if n and len(out) >= n:
                break
    return out


def test_dev_corpus_reads_every_record_in_order_with_ids_intact(shared_dir):
    raw = _dev_lines(shared_dir)
    recs = list(read_records(str(shared_dir / "data" / "raw_code" / "dev.jsonl.gz"), IngestConfig()))
    assert len(recs) == len(raw) == 3702
    assert [(r["repo_name"], r["path"], r["blob_id"], r["size"]) for r in recs] == [
        (r["repo_name"], r["path"], r["blob_id"], r["size"]) for r in raw
    ]
    assert all(set(r) == set(RAW_FIELDS) for r in recs)
    codes = [reason_code(r["quarantine_reason"]) for r in recs]
    assert codes.count("binary") == sum(r["is_binary"] for r in raw) == 25
    # UTF-8 text passes through untouched
    assert all(r["content"] == s["content"] for r, s in zip(recs, raw, strict=True) if s["src_encoding"] == "UTF-8")
    to_table(recs)  # fits the Arrow schema


def test_latin1_fallback_records_are_decoded_from_their_original_bytes(shared_dir):
    raw = [r for r in _dev_lines(shared_dir) if r["src_encoding"] == "ISO-8859-1" and not r["is_binary"]]
    assert raw, "dev corpus has non-UTF-8 text files"
    path = shared_dir / "data" / "raw_code" / "dev.jsonl.gz"
    by_key = {(r["repo_name"], r["path"]): r for r in read_records(str(path), IngestConfig())}
    for r in raw:
        got = by_key[(r["repo_name"], r["path"])]
        original = r["content"].encode("latin-1")
        assert git_blob_id(original) == r["blob_id"]
        if got["quarantine_reason"] is None:
            assert got["content"].encode(got["src_encoding"]) == original
        else:  # not text in any encoding (e.g. a brotli stream): kept losslessly, quarantined with a reason
            assert reason_code(got["quarantine_reason"]) == "undecodable"
            assert got["content"] == r["content"]


def test_cp1252_text_is_recovered_not_left_as_mojibake(tmp_path):
    text = "Déjà vu: l'élève a réussi son examen — très bien, garçon ! Où est le café ? " * 3
    original = text.encode("cp1252")
    line = {"repo_name": "o/r", "path": "notes.txt", "content": original.decode("latin-1"), "src_encoding": "ISO-8859-1"}
    f = tmp_path / "x.jsonl"
    f.write_text(json.dumps(line) + "\n")
    (rec,) = read_records(str(f), IngestConfig())
    assert rec["quarantine_reason"] is None
    assert rec["content"] == text
    assert rec["size"] == len(original) and rec["blob_id"] == git_blob_id(original)


def test_missing_optional_fields_get_defaults_and_derived_ids(tmp_path):
    f = tmp_path / "min.jsonl"
    f.write_text(json.dumps({"repo_name": "o/r", "path": "a.py", "content": "print('hé')\n"}) + "\n")
    (rec,) = read_records(str(f), IngestConfig())
    data = "print('hé')\n".encode()
    assert rec["size"] == len(data)
    git = subprocess.run(["git", "hash-object", "--stdin"], input=data, capture_output=True, check=True)
    assert rec["blob_id"] == git.stdout.decode().strip()
    assert rec["license"] is None and rec["stars"] is None and rec["commit_date"] is None
    assert rec["is_binary"] is False and rec["src_encoding"] == "UTF-8" and rec["quarantine_reason"] is None
    assert rec["source"] == str(f)


def test_stack_v1_field_aliases_are_understood(tmp_path):
    f = tmp_path / "v1.jsonl"
    f.write_text(json.dumps({
        "max_stars_repo_name": "o/r", "max_stars_repo_path": "x.go", "content": "package x\n",
        "max_stars_count": 12, "detected_licenses": ["MIT"],
    }) + "\n")
    (rec,) = read_records(str(f), IngestConfig())
    assert (rec["repo_name"], rec["path"], rec["stars"], rec["license"]) == ("o/r", "x.go", 12, "MIT")


def test_parquet_reader_gives_the_same_records_as_jsonl(shared_dir, tmp_path):
    raw = _dev_lines(shared_dir, 300)
    jl = tmp_path / "part.jsonl.gz"
    with gzip.open(jl, "wt", encoding="utf-8") as f:
        for r in raw:
            f.write(json.dumps(r) + "\n")
    pqf = tmp_path / "part.parquet"
    pq.write_table(pa.Table.from_pylist(raw), pqf)
    a = list(read_records(str(jl), IngestConfig()))
    b = list(read_records(str(pqf), IngestConfig()))
    strip = lambda rs: [{k: v for k, v in r.items() if k != "source"} for r in rs]  # noqa: E731
    assert strip(a) == strip(b)


def test_parquet_binary_content_column_is_decoded(tmp_path):
    table = pa.table({
        "repo_name": ["o/r", "o/r"], "path": ["a.c", "b.bin"],
        "content": pa.array([b"int x;\n", b"\x00\x01\x02"], pa.binary()),
    })
    pq.write_table(table, tmp_path / "b.parquet")
    a, b = read_records(str(tmp_path / "b.parquet"), IngestConfig())
    assert a["content"] == "int x;\n" and a["quarantine_reason"] is None
    assert b["is_binary"] and reason_code(b["quarantine_reason"]) == "binary" and b["size"] == 3


def test_our_own_raw_schema_round_trips_through_parquet(shared_dir, tmp_path):
    recs = list(read_records(str(shared_dir / "data" / "raw_code" / "dev.jsonl.gz"), IngestConfig()))[:50]
    pq.write_table(to_table(recs), tmp_path / "raw.parquet")
    assert pq.read_schema(tmp_path / "raw.parquet").names == RAW_SCHEMA.names
    back = list(read_records(str(tmp_path / "raw.parquet"), IngestConfig()))
    assert [(r["repo_name"], r["path"], r["blob_id"], r["content"]) for r in back] == [
        (r["repo_name"], r["path"], r["blob_id"], r["content"]) for r in recs
    ]


def test_directory_of_record_files_plans_one_unit_per_file_and_batches_cover_all(shared_dir, tmp_path):
    raw = _dev_lines(shared_dir, 250)
    for i in range(3):
        with gzip.open(tmp_path / f"part-{i}.jsonl.gz", "wt") as f:
            for r in raw[i::3]:
                f.write(json.dumps(r) + "\n")
    (tmp_path / "_SUCCESS").write_text("")
    cfg = IngestConfig(sources=[str(tmp_path)])
    units = plan_units(cfg)
    assert [u.kind for u in units] == ["jsonl"] * 3
    batches = list(iter_batches(cfg, batch_size=40))
    assert [len(b) for b in batches[:-1]] == [40] * (len(batches) - 1)
    assert sum(len(b) for b in batches) == 250


def test_external_fingerprint_changes_with_the_sources_only(tmp_path):
    f = tmp_path / "a.jsonl"
    f.write_text(json.dumps({"repo_name": "o/r", "path": "a", "content": "x"}) + "\n")
    cfg = IngestConfig(sources=[str(tmp_path)])
    fp1 = external_fingerprint(cfg)
    assert fp1 == external_fingerprint(cfg)
    f.write_text(json.dumps({"repo_name": "o/r", "path": "a", "content": "xy"}) + "\n")
    assert external_fingerprint(cfg) != fp1


def test_unknown_file_format_is_a_clear_error(tmp_path):
    from opc_core.errors import OpcError

    (tmp_path / "data.bin").write_bytes(b"x")
    with pytest.raises(OpcError, match="cannot tell the format"):
        list(read_records(str(tmp_path / "data.bin"), IngestConfig()))
    with pytest.raises(OpcError, match="not found"):
        list(read_records(str(tmp_path / "nope.jsonl"), IngestConfig()))


def test_ingest_config_reads_recipe_shapes_and_rejects_unknown_keys():
    from pydantic import ValidationError

    from opc_data.ingest import EmbeddedSource, UriSource

    cfg = IngestConfig.model_validate({"sources": ["s3://b/x.parquet", {"kind": "embedded", "distributions": ["six"]},
                                                   {"uri": "/data/repos", "format": "directory", "repo_name": "me/r"}]})
    assert isinstance(cfg.sources[0], UriSource) and cfg.sources[0].uri == "s3://b/x.parquet"
    assert isinstance(cfg.sources[1], EmbeddedSource) and cfg.sources[1].distributions == ["six"]
    assert cfg.sources[2].repo_name == "me/r"
    assert IngestConfig.model_validate({"sources": "/one/path.jsonl"}).sources[0].uri == "/one/path.jsonl"
    assert IngestConfig().max_file_bytes == 8 * 1024 * 1024
    with pytest.raises(ValidationError):
        IngestConfig.model_validate({"max_file_byte": 10})
    with pytest.raises(ValidationError):
        IngestConfig.model_validate({"sources": [{"kind": "embedded", "distribution": ["six"]}]})
