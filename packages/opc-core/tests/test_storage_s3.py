"""s3:// in and out against a real S3-compatible server on loopback; credentials never leak."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow as pa

from opc_core import storage
from opc_core.dataset import ShardWriter, read_table
from opc_core.runner import run_pipeline


def test_dataset_round_trip_on_s3(s3_bucket):
    uri = f"{s3_bucket}/ds"
    schema = pa.schema([("x", pa.int64()), ("s", pa.string())])
    with ShardWriter(uri, schema, rows_per_shard=3) as w:
        w.write_many({"x": i, "s": str(i) * i} for i in range(7))
    assert storage.list_files(uri) == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    table = read_table(uri)
    assert table.column("x").to_pylist() == list(range(7))


def test_pipeline_writes_outputs_and_manifests_to_s3(s3_bucket, toy_recipe, tmp_path):
    recipe = toy_recipe(f"workdir={s3_bucket}/work")
    assert recipe.workdir.startswith("s3://")
    words, totals = run_pipeline(recipe)
    assert words.manifest.uri.startswith(f"{s3_bucket}/work/words/")
    assert storage.exists(words.manifest.path())
    assert [o.cached for o in run_pipeline(recipe)] == [True, True]
    assert read_table(storage.join(words.manifest.uri, "kept")).num_rows == 3


def test_credentials_never_appear_in_manifests_or_logs(s3_bucket, toy_recipe, tmp_path):
    import os

    secret = os.environ["AWS_SECRET_ACCESS_KEY"]
    key_id = os.environ["AWS_ACCESS_KEY_ID"]
    recipe = toy_recipe(f"workdir={s3_bucket}/work")
    outcomes = run_pipeline(recipe)
    for o in outcomes:
        text = storage.read_text(o.manifest.path())
        assert secret not in text and key_id not in text
    # the CLI (a real subprocess) lists the S3 workdir; nothing it prints carries a credential
    proc = subprocess.run(
        [sys.executable, "-m", "opc_core.cli", "status", "--json", "--workdir", recipe.workdir],
        capture_output=True, text=True, env={**os.environ, "OPC_LOG_LEVEL": "DEBUG"}, check=True,
    )
    assert secret not in proc.stdout + proc.stderr and key_id not in proc.stdout + proc.stderr
    listed = json.loads(proc.stdout)
    assert {e["stage"] for e in listed} == {"words", "totals"}
    assert all(e["uri"].startswith("s3://") and e["complete"] for e in listed)
