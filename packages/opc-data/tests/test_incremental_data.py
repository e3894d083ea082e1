"""Incremental data runs: version 2 reads only the new dump and dedups it against what version 1 kept.

Real components end to end (``run_stage`` with a retrain's ``Extending``): two JSONL dumps of real
code (installed packages' and the standard library's .py files) in one source folder; the second one
holds new files, exact copies of first-dump files under other repositories, and a near copy (one line
changed). Cheap: a few hundred KB of code, small MinHash settings, no decontamination.
"""

from __future__ import annotations

import colorsys
import json
import textwrap
from pathlib import Path

import idna
import markupsafe
import pyarrow.parquet as pq
import pytest
import six

from opc_core.errors import OpcError
from opc_core.manifest import read_manifest
from opc_core.recipe import validate_recipe
from opc_core.runner import Extending, run_stage

IDNA = Path(idna.__file__).parent
MARKUPSAFE = Path(markupsafe.__file__).parent
SIX = Path(six.__file__)
TEXTWRAP = Path(textwrap.__file__)
COLORSYS = Path(colorsys.__file__)

NEAR_LINE = 20  # the line of idna/core.py the near copy changes


def _rec(repo: str, path: str, content: str) -> dict:
    return {"repo_name": repo, "path": path, "content": content, "license": "mit"}


def _dump(folder: Path, name: str, records: list[dict]) -> Path:
    path = folder / name
    with path.open("w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r) + "\n")
    return path


def _dump1() -> list[dict]:
    idna_files = ["__init__.py", "core.py", "codec.py", "compat.py", "intranges.py"]
    return ([_rec("acme/idna", f"idna/{f}", (IDNA / f).read_text()) for f in idna_files]
            + [_rec("acme/six", "six.py", SIX.read_text()),
               _rec("acme/markupsafe", "markupsafe/__init__.py", (MARKUPSAFE / "__init__.py").read_text())])


def _near_copy() -> str:
    lines = (IDNA / "core.py").read_text().splitlines(keepends=True)
    lines[NEAR_LINE] = "# a line changed by the fork\n"
    return "".join(lines)


def _dump2() -> list[dict]:
    return [
        _rec("beta/idna-cli", "idna/cli.py", (IDNA / "cli.py").read_text()),  # new
        _rec("beta/textwrap", "textwrap.py", TEXTWRAP.read_text()),  # new
        _rec("fork/six", "six.py", SIX.read_text()),  # exact copy of acme/six
        _rec("fork2/six", "lib/six.py", SIX.read_text()),  # the same copy again (within the dump)
        _rec("fork/idna", "idna/core.py", _near_copy()),  # near copy of acme/idna core.py
    ]


def _recipe(workdir: Path, source: Path, kind: str = "local", **dedup):
    return validate_recipe({
        "name": "incremental", "workdir": str(workdir), "seed": 3, "pipeline": ["data"],
        "stages": {"data": {
            "ingest": {"sources": [str(source)]}, "report": False, "store_signals": False,
            "dedup": {"level": "file", "num_perm": 128, "bands": 16, "rows": 8, "verify": True,
                      "verify_threshold": 0.8, **dedup},
            "decontamination": {"enabled": False},
            "engine": {"kind": kind, "workers": 1, "records_per_shard": 4},
        }},
    }, "test")


def _rows(out: str, name: str) -> list[dict]:
    return pq.read_table(Path(out) / name).to_pylist()


@pytest.fixture(scope="module")
def versions(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("incremental")
    folder = tmp / "dumps"
    folder.mkdir()
    _dump(folder, "dump-1.jsonl", _dump1())
    recipe = _recipe(tmp / "work", folder)
    v1 = run_stage(recipe, "data").manifest
    v1_files = sorted(p.relative_to(v1.uri).as_posix() for p in Path(v1.uri).rglob("*") if p.is_file())
    _dump(folder, "dump-2.jsonl", _dump2())
    v2 = run_stage(recipe, "data", extending=Extending(version=1, outputs={"data": v1},
                                                         redo=frozenset({"data"}))).manifest
    return {"tmp": tmp, "folder": folder, "recipe": recipe, "v1": v1, "v1_files": v1_files, "v2": v2}


def test_every_output_records_its_units_and_dedup_index(versions):
    v1 = versions["v1"]
    assert v1.artifacts == {"kept": "kept", "dedup_index": "dedup_index", "units": "ingested_units.json"}
    assert "incremental" not in v1.metrics
    units = json.loads((Path(v1.uri) / "ingested_units.json").read_text())
    assert [(u["label"], u["kind"], u["data_key"]) for u in units] == [
        (str(versions["folder"] / "dump-1.jsonl"), "jsonl", v1.key)]
    index = _rows(v1.uri, "dedup_index")
    kept = {(r["repo_name"], r["path"]) for r in _rows(v1.uri, "kept")}
    assert len(index) == v1.counts.kept and {(r["repo_name"], r["path"]) for r in index} == kept
    for r in index:
        assert len(r["digest"]) == 32 and len(r["band_keys"]) == 16
        shard = pq.read_table(Path(v1.uri) / r["kept_file"]).to_pylist()
        assert any((k["repo_name"], k["path"]) == (r["repo_name"], r["path"]) for k in shard)
    # the copies dump 2 makes are of files version 1 kept
    assert {("acme/six", "six.py"), ("acme/idna", "idna/core.py")} <= kept


def test_version_2_reads_only_the_new_dump(versions):
    v1, v2 = versions["v1"], versions["v2"]
    assert v2.key != v1.key
    assert v2.inputs["previous"].key == v1.key
    assert v2.sources == [str(versions["folder"] / "dump-2.jsonl")]
    assert v2.counts.records_in == len(_dump2())
    c = v2.counts
    assert c.records_in == c.kept + c.rejected + c.quarantined
    inc = v2.metrics["incremental"]
    assert inc == {"previous_key": v1.key, "units_total": 2, "units_new": 1, "units_skipped": 1,
                   "index_records": v1.counts.kept, "exact_removed": 1, "fuzzy_removed": 1}
    units = json.loads((Path(v2.uri) / "ingested_units.json").read_text())
    assert [u["data_key"] for u in units] == [v1.key, v2.key]
    assert "extends" in v2.summary


def test_attribution_covers_every_version(versions):
    """The release ships the data output's attribution.json: a model continued on version 2 was trained on
    version 1's files too."""
    v1, v2 = versions["v1"], versions["v2"]
    a1, a2, new = (json.loads((Path(m.uri) / name).read_text())
                   for m, name in ((v1, "attribution.json"), (v2, "attribution.json"), (v2, "attribution_new.json")))
    assert a2["files"] == a1["files"] + new["files"] == v1.counts.kept + v2.counts.kept
    assert {r["repo_name"] for r in a2["repositories"]} == (
        {r["repo_name"] for r in a1["repositories"]} | {r["repo_name"] for r in new["repositories"]})


def test_cross_dump_copies_point_at_the_old_files(versions):
    v2 = versions["v2"]
    rejected = {(r["repo_name"], r["path"]): r for r in _rows(v2.uri, "rejected")}
    for copy in (("fork/six", "six.py"), ("fork2/six", "lib/six.py")):
        r = rejected[copy]
        assert r["reject_reason"] == "dedup:exact"
        assert (r["duplicate_of_repo_name"], r["duplicate_of_path"]) == ("acme/six", "six.py")
    near = rejected[("fork/idna", "idna/core.py")]
    assert near["reject_reason"] == "dedup:fuzzy"
    assert (near["duplicate_of_repo_name"], near["duplicate_of_path"]) == ("acme/idna", "idna/core.py")
    kept = {(r["repo_name"], r["path"]) for r in _rows(v2.uri, "kept")}
    assert kept == {("beta/idna-cli", "idna/cli.py"), ("beta/textwrap", "textwrap.py")}
    index = _rows(v2.uri, "dedup_index")
    assert {(r["repo_name"], r["path"]) for r in index} == kept  # only this version's kept records
    d = v2.metrics["dedup"]
    assert d["previous_index_records"] == versions["v1"].counts.kept
    assert (d["previous_exact_removed"], d["previous_fuzzy_removed"]) == (1, 1)
    assert (d["exact_removed"], d["fuzzy_removed"]) == (2, 1)


def test_version_1_is_untouched(versions):
    v1 = versions["v1"]
    assert read_manifest(v1.uri) == v1
    assert sorted(p.relative_to(v1.uri).as_posix() for p in Path(v1.uri).rglob("*") if p.is_file()) \
        == versions["v1_files"]


def test_extending_is_keyed_apart_from_a_full_run(versions):
    """The same sources without ``previous``: another key, both dumps read, the copies removed within it."""
    plain = run_stage(versions["recipe"], "data").manifest
    assert plain.key not in (versions["v1"].key, versions["v2"].key)
    assert plain.counts.records_in == len(_dump1()) + len(_dump2())
    assert "previous" not in plain.inputs and "incremental" not in plain.metrics


def test_pending_counts_the_units_a_retrain_would_read(versions):
    from opc_data.incremental import pending_units

    config = versions["recipe"].stage_config("data")
    assert pending_units(config, versions["v1"]) == 1  # dump 2
    assert pending_units(config, versions["v2"]) == 0  # nothing new: the retrain does nothing


def test_a_version_over_an_unchanged_folder_is_refused(versions):
    with pytest.raises(OpcError, match="no new source unit"):
        run_stage(versions["recipe"], "data", extending=Extending(
            version=2, outputs={"data": versions["v2"]}, redo=frozenset({"data"})))


def test_a_version_2_chain_reaches_version_1(versions, tmp_path):
    """Version 3 over a third dump dedups against both earlier versions' indexes."""
    folder = tmp_path / "dumps"
    folder.mkdir()
    _dump(folder, "dump-3.jsonl", [_rec("c/six", "six.py", SIX.read_text()),
                                   _rec("c/cli", "cli.py", (IDNA / "cli.py").read_text()),
                                   _rec("c/new", "colorsys.py", COLORSYS.read_text())])
    v2 = versions["v2"]
    recipe = _recipe(tmp_path / "work", folder)  # a folder holding only the third dump
    v3 = run_stage(recipe, "data", extending=Extending(version=2, outputs={"data": v2},
                                                         redo=frozenset({"data"}))).manifest
    rejected = {(r["repo_name"], r["path"]): r for r in _rows(v3.uri, "rejected")}
    assert rejected[("c/six", "six.py")]["duplicate_of_repo_name"] == "acme/six"  # in version 1's index
    assert rejected[("c/cli", "cli.py")]["duplicate_of_repo_name"] == "beta/idna-cli"  # in version 2's index
    assert {(r["repo_name"], r["path"]) for r in _rows(v3.uri, "kept")} == {("c/new", "colorsys.py")}
    assert v3.metrics["incremental"]["index_records"] == versions["v1"].counts.kept + v2.counts.kept


def _extend_v1(versions, tmp_path, **dedup):
    recipe = _recipe(tmp_path / "work", versions["folder"], **dedup)
    return run_stage(recipe, "data", extending=Extending(version=1, outputs={"data": versions["v1"]},
                                                         redo=frozenset({"data"}))).manifest


def test_without_verification_a_band_collision_removes(versions, tmp_path):
    v2 = _extend_v1(versions, tmp_path, verify=False)
    near = {(r["repo_name"], r["path"]): r for r in _rows(v2.uri, "rejected")}[("fork/idna", "idna/core.py")]
    assert (near["reject_reason"], near["duplicate_of_repo_name"]) == ("dedup:fuzzy", "acme/idna")
    assert v2.metrics["incremental"]["fuzzy_removed"] >= 1


def test_repo_level_dedup_or_other_lsh_settings_cannot_extend(versions, tmp_path):
    with pytest.raises(OpcError, match="repository-level dedup cannot extend"):
        _extend_v1(versions, tmp_path / "repo", level="repo")
    with pytest.raises(OpcError, match="other MinHash/LSH settings"):
        _extend_v1(versions, tmp_path / "lsh", num_perm=256)


@pytest.mark.spark
def test_the_spark_engine_extends_like_the_local_engine(spark, versions, tmp_path):
    """Version 2 on Spark over the same version 1: the same files, byte for byte, and the same metrics."""
    recipe = _recipe(tmp_path / "work", versions["folder"], kind="spark")
    on_spark = run_stage(recipe, "data", extending=Extending(version=1, outputs={"data": versions["v1"]},
                                                               redo=frozenset({"data"}))).manifest
    local = versions["v2"]
    assert on_spark.key != local.key and on_spark.counts == local.counts
    assert on_spark.metrics["incremental"] == local.metrics["incremental"]
    for name in ("kept", "rejected", "quarantined", "dedup_index"):
        files = sorted(p.name for p in (Path(local.uri) / name).glob("*.parquet"))
        assert files and sorted(p.name for p in (Path(on_spark.uri) / name).glob("*.parquet")) == files
        for f in files:
            assert (Path(on_spark.uri) / name / f).read_bytes() == (Path(local.uri) / name / f).read_bytes()


def test_a_changed_file_changes_its_unit_stamp(tmp_path):
    from opc_data.ingest import SourceUnit
    from opc_data.ingest.unit_stamps import unit_stamp

    f = tmp_path / "d.jsonl"
    f.write_text(json.dumps(_rec("a/b", "x.py", "x = 1\n")) + "\n")
    unit = SourceUnit("jsonl", str(f))
    first = unit_stamp(unit)
    assert unit_stamp(unit) == first
    f.write_text(json.dumps(_rec("a/b", "x.py", "x = 2  # changed\n")) + "\n")
    assert unit_stamp(unit) != first
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "m.py").write_text("a = 1\n")
    (repo / "top.py").write_text("b = 1\n")
    whole, top = SourceUnit("repo_dir", str(repo)), SourceUnit("repo_dir", str(repo), top_only=True)
    before = unit_stamp(whole), unit_stamp(top)
    (repo / "pkg" / "m.py").write_text("a = 22\n")
    assert unit_stamp(whole) != before[0] and unit_stamp(top) == before[1]  # top_only: top-level files only
    (repo / ".git").mkdir()
    (repo / ".git" / "HEAD").write_text("ref: x\n")
    changed = unit_stamp(whole, [".git"])
    (repo / ".git" / "HEAD").write_text("ref: y, longer\n")
    assert unit_stamp(whole, [".git"]) == changed  # skipped folders are not part of the unit
    emb = SourceUnit("embedded", "six")
    assert unit_stamp(emb) == unit_stamp(emb) and unit_stamp(emb).startswith("six==")


def test_dumps_and_workdir_on_s3(s3_bucket, tmp_path):
    """The same two versions with the dumps under an s3:// prefix (units stamped by their ETag) and the workdir
    in the bucket (the index chain and kept shards read back from S3), on a real S3 server on loopback."""
    import fsspec

    from opc_data.incremental import pending_units

    fs = fsspec.filesystem("s3", client_kwargs={"endpoint_url": __import__("os").environ["OPC_S3_ENDPOINT_URL"]})
    local = tmp_path / "dumps"
    local.mkdir()
    fs.put(str(_dump(local, "dump-1.jsonl", _dump1())), f"{s3_bucket}/raw/dump-1.jsonl")
    recipe = _recipe(f"{s3_bucket}/work", f"{s3_bucket}/raw")  # type: ignore[arg-type]
    v1 = run_stage(recipe, "data").manifest
    fs.put(str(_dump(local, "dump-2.jsonl", _dump2())), f"{s3_bucket}/raw/dump-2.jsonl")
    assert pending_units(recipe.stage_config("data"), v1) == 1
    v2 = run_stage(recipe, "data", extending=Extending(version=1, outputs={"data": v1},
                                                         redo=frozenset({"data"}))).manifest
    assert v2.sources == [f"{s3_bucket}/raw/dump-2.jsonl"] and v2.counts.records_in == len(_dump2())
    inc = v2.metrics["incremental"]
    assert (inc["units_new"], inc["exact_removed"], inc["fuzzy_removed"]) == (1, 1, 1)
