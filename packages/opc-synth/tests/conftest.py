"""Fixtures of the opc-synth tests: a real data-stage-shaped input (kept/ of real Python files) and a
stage context to run the stages on it directly (the same function ``opc run`` calls)."""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path

import pyarrow as pa
import pytest

from opc_core.dataset import ShardWriter
from opc_core.manifest import Manifest
from opc_core.stage import StageContext

SEED_REPOS = ("psf/requests",)


@pytest.fixture(scope="session")
def seed_data(shared_dir: Path, tmp_path_factory) -> Path:
    """A data-stage output: kept/ with real Python files of psf/requests from the shared dev set."""
    out = tmp_path_factory.mktemp("data-out")
    schema = pa.schema([(c, pa.string()) for c in ("repo_name", "path", "content", "program_lang", "doc_type")])
    rows = []
    with gzip.open(shared_dir / "data" / "raw_code" / "dev.jsonl.gz", "rt") as f:
        for line in f:
            r = json.loads(line)
            if r["repo_name"] in SEED_REPOS and r["path"].startswith("src/requests/") and r["path"].endswith(".py"):
                rows.append({"repo_name": r["repo_name"], "path": r["path"], "content": r["content"],
                             "program_lang": "python", "doc_type": "code"})
    with ShardWriter(str(out / "kept"), schema) as w:
        w.write_many(rows)
    return out


def make_ctx(tmp_path: Path, data_dir: Path, stage: str = "synth", seed: int = 3) -> StageContext:
    out = tmp_path / stage / "key"
    out.mkdir(parents=True, exist_ok=True)
    scratch = tmp_path / f"scratch-{stage}"
    scratch.mkdir(exist_ok=True)
    data = Manifest(stage="data", key="k", uri=str(data_dir), fingerprint="fp-data", code_version="c", created="t")
    return StageContext(stage=stage, key="key", output_uri=str(out), workdir=str(tmp_path), seed=seed,
                        recipe_name="test", recipe={}, inputs={"data": data}, scratch=scratch,
                        log=logging.getLogger(f"opc.{stage}"))


@pytest.fixture
def ctx_factory():
    return make_ctx
