"""The Spark engine writes exactly what the local engine writes (kept set, counts, output bytes).

The corpus is a deterministic subset of dev.jsonl.gz chosen to exercise every step: both
psf/requests snapshots and spf13/cobra with its v1.5.0 pseudo-fork (exact and verified fuzzy
duplicates), plus every 40th other file (all languages, binaries, licence-header sources), cut into
three JSONL files of uneven sizes so that phase A reads several units in parallel and input shards
straddle unit boundaries. The full dev corpus (one unit) takes minutes per engine on 2 cores; run it
with OPC_PARITY_FULL=1.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from opc_core.recipe import validate_recipe
from opc_core.runner import run_stage

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def corpus(shared_dir, tmp_path_factory) -> str:
    src = shared_dir / "data/raw_code/dev.jsonl.gz"
    if os.environ.get("OPC_PARITY_FULL"):
        return str(src)
    with gzip.open(src, "rt", encoding="utf-8") as fh:
        lines = [line for i, line in enumerate(fh)
                 if json.loads(line)["repo_name"].startswith(("psf/requests", "spf13/cobra")) or i % 40 == 0]
    folder = tmp_path_factory.mktemp("parity") / "subset"
    cuts = [0, 37, len(lines) // 2 + 11, len(lines)]  # no cut on a multiple of records_per_shard
    _write_units(folder, [lines[a:b] for a, b in zip(cuts, cuts[1:], strict=False)])
    return str(folder)


def _write_units(folder: Path, parts: list[list[str]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n, part in enumerate(parts):
        with gzip.open(folder / f"part-{n}.jsonl.gz", "wt", encoding="utf-8") as dst:
            dst.writelines(part)


@pytest.fixture(scope="module")
def runs(spark, corpus, tmp_path_factory):
    """Both engines on the same corpus, once for the module."""
    tmp = tmp_path_factory.mktemp("engines")
    return _run(tmp, corpus, "local"), _run(tmp, corpus, "spark")


def _run(tmp_path: Path, source: str, kind: str):
    recipe = validate_recipe({
        "name": "parity", "workdir": str(tmp_path / kind), "seed": 5, "pipeline": ["data"],
        "stages": {"data": {"ingest": {"sources": [source]}, "report": False, "store_signals": False,
                            "engine": {"kind": kind, "workers": 1, "records_per_shard": 250}}},
    }, "test")
    return run_stage(recipe, "data")


def _kept(outcome) -> list[tuple[str, str, str]]:
    t = pq.read_table(Path(outcome.manifest.uri) / "kept", columns=["repo_name", "path", "content"])
    return sorted(zip(*(t.column(c).to_pylist() for c in ("repo_name", "path", "content")), strict=True))


def test_spark_engine_kept_set_equals_local_engine(runs):
    local, on_spark = runs
    assert local.key != on_spark.key  # the engine is part of the config, so each really ran
    kept_local, kept_spark = _kept(local), _kept(on_spark)
    assert len(kept_local) > 100
    assert kept_spark == kept_local
    assert on_spark.manifest.counts == local.manifest.counts
    ld, sd = local.manifest.metrics["dedup"], on_spark.manifest.metrics["dedup"]
    assert ld["fuzzy_removed"] > 0 and ld["exact_removed"] > 0
    for key in ("kept", "exact_removed", "fuzzy_removed", "candidate_pairs", "verification_rejected",
                "cluster_size_histogram"):
        assert sd[key] == ld[key], key
    lf, sf = local.manifest.metrics["funnel"], on_spark.manifest.metrics["funnel"]
    assert sf["steps"] == lf["steps"] and sf["reasons"] == lf["reasons"]


def test_spark_engine_output_files_are_byte_identical_to_local_engine(runs):
    local, on_spark = map(lambda o: Path(o.manifest.uri), runs)
    for name in ("kept", "rejected", "quarantined", "dedup_index"):
        files = sorted(p.name for p in (local / name).glob("*.parquet"))
        assert len(files) >= 2, name  # several input shards (records_per_shard 250)
        assert sorted(p.name for p in (on_spark / name).glob("*.parquet")) == files, name
        for f in files:
            assert (on_spark / name / f).read_bytes() == (local / name / f).read_bytes(), f"{name}/{f}"
    units = [[(u["label"], u["kind"], u["stamp"]) for u in json.loads((out / "ingested_units.json").read_text())]
             for out in (local, on_spark)]
    assert len(units[0]) == 3 and units[1] == units[0]


def test_spark_phase_a_writes_the_local_engines_input_shards_byte_for_byte(spark, shared_dir, tmp_path):
    """Units of 0, 5, 1 and 23 records, 7 records per shard: shards straddle units and skip the empty one."""
    from opc_data import shard_work, spark_engine
    from opc_data.config import DataConfig

    with gzip.open(shared_dir / "data/raw_code/dev.jsonl.gz", "rt", encoding="utf-8") as fh:
        lines = [line for _, line in zip(range(29), fh, strict=False)]
    _write_units(tmp_path / "src", [[], lines[:5], lines[5:6], lines[6:]])
    cfg = DataConfig.model_validate({"ingest": {"sources": [str(tmp_path / "src")]},
                                     "engine": {"kind": "spark", "records_per_shard": 7}})
    local_marker = shard_work.write_input_shards(cfg, str(tmp_path / "local"))
    spark_marker = spark_engine.spark_input_shards(spark, cfg, str(tmp_path / "spark"))
    assert spark_marker == local_marker
    assert local_marker["records"] == 29 and len(local_marker["shards"]) == 5
    for shard in local_marker["shards"]:
        want = (tmp_path / "local/_work/input" / shard).read_bytes()
        assert (tmp_path / "spark/_work/input" / shard).read_bytes() == want, shard
    assert not (tmp_path / "spark/_work/units").exists()  # the unit pieces are removed once merged


def test_spark_phase_a_raises_a_units_ingest_error_on_the_driver_naming_the_file(spark, shared_dir, tmp_path):
    from opc_core.errors import OpcError
    from opc_data import spark_engine
    from opc_data.config import DataConfig

    with gzip.open(shared_dir / "data/raw_code/dev.jsonl.gz", "rt", encoding="utf-8") as fh:
        lines = [line for _, line in zip(range(40), fh, strict=False)]
    _write_units(tmp_path / "src", [lines[:20], lines[20:]])
    cut = tmp_path / "src/part-1.jsonl.gz"
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])
    cfg = DataConfig.model_validate({"ingest": {"sources": [str(tmp_path / "src")]}, "engine": {"kind": "spark"}})
    with pytest.raises(OpcError, match=r"part-1\.jsonl\.gz.*truncated or corrupt"):
        spark_engine.spark_input_shards(spark, cfg, str(tmp_path / "out"))


def test_spark_dedup_decisions_point_at_records_that_passed_dedup(runs):
    out = Path(runs[1].manifest.uri)
    kept = {(r["repo_name"], r["path"]) for r in pq.read_table(out / "kept").to_pylist()}
    rejected = pq.read_table(out / "rejected").to_pylist()
    dups = [r for r in rejected if r["reject_reason"].startswith("dedup:")]
    assert dups
    survivors = kept | {(r["repo_name"], r["path"]) for r in rejected if not r["reject_reason"].startswith("dedup:")}
    for r in dups:  # the copy it points at passed dedup (it may be dropped later by the rules)
        assert (r["duplicate_of_repo_name"], r["duplicate_of_path"]) in survivors
