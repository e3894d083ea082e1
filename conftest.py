"""Fixtures every test may use: the shared test data and a real S3-compatible server on loopback.

Slow, shared services start once per test session (S3 here; Spark in packages/opc-data/tests/conftest.py;
Prefect in tests/conftest.py).
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pyarrow as pa
import pytest
from pydantic import BaseModel, ConfigDict

from opc_core import storage
from opc_core.dataset import ShardWriter, read_rows
from opc_core.loopback import free_port
from opc_core.manifest import Counts
from opc_core.registry import register_stage
from opc_core.stage import StageContext, StageResult, StageSpec

# Two small but real stages for testing the spine (runner, flows, CLI): ``words`` reads text files from a
# source folder and writes a Parquet dataset of (file, words); ``totals`` sums its upstream. They run
# through the same runner, manifests and storage as the product stages.

REPO = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("OPC_SHARED_DIR", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` beside the checkout (test data only; the product never reads it)."""
    if not (SHARED / "data").is_dir():
        pytest.fail(f"test data not found at {SHARED}; set OPC_SHARED_DIR to the shared/ folder")
    return SHARED


@pytest.fixture
def loopback_port() -> int:
    """A free TCP port on 127.0.0.1 (tests never import conftest by name: that would load a second copy)."""
    return free_port()


@pytest.fixture(scope="session")
def s3_server():
    """A real S3-compatible server (moto in server mode) on 127.0.0.1; yields its endpoint URL.

    Credentials are fake but go through the same environment variables a user sets for real S3.
    """
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{server._port}"
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION",
                                             "AWS_ENDPOINT_URL", "OPC_S3_ENDPOINT_URL")}
    os.environ.update({
        "AWS_ACCESS_KEY_ID": "opc-test-key-id",
        "AWS_SECRET_ACCESS_KEY": "opc-test-secret-DO-NOT-LOG",
        "AWS_DEFAULT_REGION": "us-east-1",
        "OPC_S3_ENDPOINT_URL": endpoint,
    })
    os.environ.pop("AWS_ENDPOINT_URL", None)
    try:
        yield endpoint
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture
def s3_bucket(s3_server) -> str:
    """A fresh bucket for one test; yields ``s3://<bucket>``."""
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
    fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": s3_server})
    name = f"opc-test-{uuid.uuid4().hex[:10]}"
    fs.mkdir(name)
    return f"s3://{name}"


CALLS: dict[str, int] = {"words": 0, "totals": 0}


class WordsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str
    min_words: int = 1
    lowercase: bool = False


def run_words(config: WordsConfig, ctx: StageContext) -> StageResult:
    """Word counts per file; in a retrain (``ctx.previous``) only files the previous versions did not read."""
    CALLS["words"] += 1
    schema = pa.schema([("file", pa.string()), ("words", pa.int64())])
    done = set(storage.read_json(storage.join(ctx.previous.uri, "ingested.json"))) if ctx.previous else set()
    files = [f for f in sorted(Path(config.source).glob("*.txt")) if f.name not in done]
    kept = rejected = 0
    with ShardWriter(storage.join(ctx.output_uri, "kept"), schema, rows_per_shard=2) as writer:
        for f in files:
            text = f.read_text()
            n = len((text.lower() if config.lowercase else text).split())
            if n < config.min_words:
                rejected += 1
                continue
            writer.write({"file": f.name, "words": n})
            kept += 1
    storage.write_json_atomic(storage.join(ctx.output_uri, "ingested.json"), sorted(done | {f.name for f in files}))
    return StageResult(counts=Counts(**{"in": len(files)}, kept=kept, rejected=rejected), sources=[config.source])


def source_fingerprint(config: WordsConfig) -> str:
    return json.dumps([(p.name, p.stat().st_size) for p in sorted(Path(config.source).glob("*.txt"))])


class TotalsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scale: int = 1


def run_totals(config: TotalsConfig, ctx: StageContext) -> StageResult:
    CALLS["totals"] += 1
    total = sum(r["words"] for r in read_rows(storage.join(ctx.input_uri("words"), "kept"))) * config.scale
    storage.write_json_atomic(storage.join(ctx.output_uri, "total.json"), {"total": total})
    storage.write_text_atomic(storage.join(ctx.output_uri, "timing.log"), f"{ctx.key} took some time\n")
    return StageResult(metrics={"total": total}, summary=f"total={total}")


def pending_words(config: WordsConfig, previous) -> int:
    done = set(storage.read_json(storage.join(previous.uri, "ingested.json")))
    return sum(f.name not in done for f in Path(config.source).glob("*.txt"))


register_stage(StageSpec("words", WordsConfig, run_words, external_fingerprint=source_fingerprint, extends=True,
                         pending=pending_words,
                         code_modules=("opc_core",)))
register_stage(StageSpec("totals", TotalsConfig, run_totals, inputs={"words": "words"}, volatile=("*.log",),
                         code_modules=("opc_core",)))


def run_tally(config: TotalsConfig, ctx: StageContext) -> StageResult:
    """A toy stage that extends its previous output in a retrain: a running total over versions."""
    new = sum(r["words"] for r in read_rows(storage.join(ctx.input_uri("words"), "kept")))
    before = ctx.previous.metrics["running"] if ctx.previous is not None else 0
    storage.write_json_atomic(storage.join(ctx.output_uri, "tally.json"), {"running": before + new})
    return StageResult(metrics={"running": before + new, "new": new})


register_stage(StageSpec("tally", TotalsConfig, run_tally, inputs={"words": "words"}, extends=True,
                         code_modules=("opc_core",)))


@pytest.fixture(scope="session")
def spark():
    """A SparkSession local[2] bound to 127.0.0.1, shared by every Spark test (data, recall), stopped at the end."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from opc_data.spark_engine import spark_session

    session = spark_session("local[2]", {"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "4"})
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()


@pytest.fixture
def calls() -> dict[str, int]:
    CALLS.update(words=0, totals=0)
    return CALLS


@pytest.fixture
def toy_recipe(tmp_path: Path):
    """Write source files and a recipe; returns a function (overrides) -> Recipe."""
    from opc_core.recipe import load_recipe

    src = tmp_path / "src"
    src.mkdir()
    for i, text in enumerate(["alpha beta gamma", "one", "the quick brown fox jumps", ""]):
        (src / f"f{i}.txt").write_text(text)
    recipe = tmp_path / "toy.yaml"
    recipe.write_text(
        f"name: toy\nworkdir: {tmp_path / 'work'}\npipeline: [words, totals]\n"
        f"stages:\n  words: {{source: {src}, min_words: 1}}\n"
    )
    return lambda *overrides: load_recipe(recipe, list(overrides))
