"""Two small but real stages for testing the spine: ``words`` reads text files from a source folder and
writes a Parquet dataset of (file, words); ``totals`` sums its upstream. They run through the same
runner, manifests and storage as the product stages."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from pydantic import BaseModel, ConfigDict

from opc_core import storage
from opc_core.dataset import ShardWriter, read_rows
from opc_core.manifest import Counts
from opc_core.registry import register_stage
from opc_core.stage import StageContext, StageResult, StageSpec

CALLS: dict[str, int] = {"words": 0, "totals": 0}


class WordsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str
    min_words: int = 1
    lowercase: bool = False


def run_words(config: WordsConfig, ctx: StageContext) -> StageResult:
    CALLS["words"] += 1
    schema = pa.schema([("file", pa.string()), ("words", pa.int64())])
    files = sorted(Path(config.source).glob("*.txt"))
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


register_stage(StageSpec("words", WordsConfig, run_words, external_fingerprint=source_fingerprint,
                         code_modules=("opc_core",)))
register_stage(StageSpec("totals", TotalsConfig, run_totals, inputs={"words": "words"}, volatile=("*.log",),
                         code_modules=("opc_core",)))


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
