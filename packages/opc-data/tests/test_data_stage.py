"""The ``data`` stage end to end: the tiny recipe runs, counts add up, outputs follow the interfaces,
a crashed run resumes per shard, and every record lands in exactly one output."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from opc_core.manifest import read_manifest
from opc_core.recipe import load_recipe, validate_recipe
from opc_core.runner import run_stage

REPO = Path(__file__).resolve().parents[3]


def _table(path: Path):
    return pq.read_table(path)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """`opc run data --recipe recipes/tiny.yaml` as a real subprocess, into a fresh workdir."""
    workdir = tmp_path_factory.mktemp("tiny")
    proc = subprocess.run(
        [str(REPO / ".venv/bin/opc"), "run", "data", "--recipe", str(REPO / "recipes/tiny.yaml"), f"workdir={workdir}"],
        capture_output=True, text=True, cwd=REPO, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    outputs = [p.parent for p in workdir.glob("data/*/_MANIFEST.json")]
    assert len(outputs) == 1
    return outputs[0], proc.stderr


def test_tiny_recipe_runs_end_to_end_and_counts_add_up(tiny_run):
    out, stderr = tiny_run
    m = read_manifest(str(out))
    c = m.counts
    assert c.records_in > 300 and c.kept > 100 and c.quarantined >= 1
    assert c.records_in == c.kept + c.rejected + c.quarantined
    n = {name: _table(out / name).num_rows for name in ("kept", "rejected", "quarantined")}
    assert (n["kept"], n["rejected"], n["quarantined"]) == (c.kept, c.rejected, c.quarantined)
    funnel = m.metrics["funnel"]
    steps = [s["step"] for s in funnel["steps"]]
    assert steps == ["input", "quarantine", "license", "dedup", "filter", "sampling", "decontamination"]
    assert funnel["steps"][0]["files"] == c.records_in and funnel["steps"][-1]["files"] == c.kept
    assert sum(v["in_files"] for v in funnel["languages"].values()) == c.records_in
    assert funnel["rule_hits"] and funnel["transforms"].get("copyright_files", 0) > 0
    assert m.metrics["dedup"]["s_curve"] and m.metrics["decontamination"]["humaneval"]["items"] == 164
    assert m.metrics["decontamination"]["mbpp"]["items"] == 974  # bundled, like the 1.5B/8B recipes
    assert "data funnel" in stderr and "decontamination" in stderr  # the funnel is printed


def test_outputs_follow_the_documented_layout(tiny_run):
    out, _ = tiny_run
    kept = _table(out / "kept")
    for col in ("repo_name", "path", "content", "program_lang", "doc_type", "license", "blob_id", "size",
                "stars", "commit_date"):
        assert col in kept.column_names
    rejected = _table(out / "rejected").to_pylist()
    assert all(r["reject_reason"] for r in rejected)
    by_rules = [r for r in rejected if r["reject_reason"] == "rules"]
    assert by_rules and all(r["rules_fired"] for r in by_rules)
    dups = [r for r in rejected if r["reject_reason"].startswith("dedup:")]
    assert dups and all(r["duplicate_of_repo_name"] and r["duplicate_of_path"] for r in dups)
    quarantined = _table(out / "quarantined").to_pylist()
    assert quarantined and all(q["error"] for q in quarantined)
    attribution = json.loads((out / "attribution.json").read_text())
    assert attribution["files"] == kept.num_rows and attribution["repositories"]
    assert (out / "report/funnel.html").read_text().count("<img") >= 4
    for png in ("funnel_steps.png", "languages.png", "rule_hits.png", "dedup_clusters.png"):
        assert (out / "report" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (out / "_work").exists()


def test_manifest_counts_each_transform_kind_and_report_shows_a_sample_of_each(tiny_run):
    out, _ = tiny_run
    transforms = read_manifest(str(out)).metrics["funnel"]["transforms"]
    samples = json.loads((out / "report/transform_samples.json").read_text())
    changed = {k.removesuffix("_files") for k in transforms if k.endswith("_files") and k != "pii_files"}
    changed |= {k for k in transforms if k.startswith("pii_") and k != "pii_files"}
    assert {"copyright", "pii_email"} <= changed  # the tiny corpus has both
    assert set(samples) == changed, (sorted(samples), transforms)
    for kind, sample in samples.items():
        assert sample["before"] != sample["after"] and sample["path"], kind
    page = (out / "report/funnel.html").read_text()
    assert all(f"<h3>{kind}</h3>" in page for kind in samples)


def test_funnel_page_summary_line_equals_the_manifest_counts(tiny_run):
    from html.parser import HTMLParser

    out, _ = tiny_run
    c = read_manifest(str(out)).counts

    class Summary(HTMLParser):
        attrs: dict = {}
        text = ""
        _in = False

        def handle_starttag(self, tag, attrs):
            if dict(attrs).get("id") == "summary":
                self.attrs, self._in = dict(attrs), True

        def handle_endtag(self, tag):
            self._in = False

        def handle_data(self, data):
            if self._in:
                self.text += data

    page = Summary()
    page.feed((out / "report/funnel.html").read_text())
    assert page.text == f"{c.records_in:,} in = {c.kept:,} kept + {c.rejected:,} rejected + {c.quarantined:,} quarantined"
    assert [int(page.attrs[f"data-{k}"]) for k in ("in", "kept", "rejected", "quarantined")] == \
        [c.records_in, c.kept, c.rejected, c.quarantined]


def test_every_record_lands_in_exactly_one_output(tiny_run):
    out, _ = tiny_run
    keys = []
    for name in ("kept", "rejected", "quarantined"):
        t = _table(out / name)
        keys += list(zip(t.column("repo_name").to_pylist(), t.column("path").to_pylist(), strict=True))
    assert len(keys) == len(set(keys)) == read_manifest(str(out)).counts.records_in


def test_kept_content_is_transformed(tiny_run):
    out, _ = tiny_run
    kept = _table(out / "kept").to_pylist()
    assert not any("@gmail.com" in r["content"] for r in kept)
    assert any("<EMAIL>" in r["content"] for r in kept)


def _dev_slice(shared_dir, tmp_path, n=400) -> str:
    import gzip

    src = shared_dir / "data/raw_code/dev.jsonl.gz"
    dst = tmp_path / "slice.jsonl"
    with gzip.open(src, "rt", encoding="utf-8") as fh, open(dst, "w", encoding="utf-8") as out:
        for i, line in enumerate(fh):
            if i % 9 == 0:
                out.write(line)
            if i >= 9 * n:
                break
    return str(dst)


def _recipe(tmp_path, source, **data):
    stages = {"data": {"ingest": {"sources": [source]}, "engine": {"workers": 1, "records_per_shard": 100},
                       "report": False, **data}}
    return validate_recipe({"name": "t", "workdir": str(tmp_path / "work"), "seed": 3, "pipeline": ["data"],
                            "stages": stages}, "test")


def test_crashed_run_resumes_skipping_complete_shards(shared_dir, tmp_path):
    """The state a crash after two shards leaves (phases A and B done, two shard markers, no manifest):
    a rerun skips them and gives the same output as a clean run."""
    from opc_core.runner import plan_stage
    from opc_data import local_engine, shard_work

    source = _dev_slice(shared_dir, tmp_path)
    clean = run_stage(_recipe(tmp_path / "clean", source), "data")
    recipe = _recipe(tmp_path / "crashed", source)
    out = plan_stage(recipe, "data").output_uri
    cfg = recipe.stage_config("data")
    marker = shard_work.write_input_shards(cfg, out)
    decisions, _ = shard_work.run_dedup(cfg, out)
    shards = marker["shards"]
    assert len(shards) >= 3
    for shard in shards[:2]:
        idx = shard_work.shard_indices(out, shard)
        shard_work.shard_task(out, shard, {i: d for i, d in decisions.items() if i in idx}, cfg.model_dump_json(),
                              recipe.seed)
    stamp = {s: (Path(out) / "kept" / s).stat().st_mtime_ns for s in shards[:2]}
    calls = []
    real = local_engine.shard_task
    local_engine.shard_task = lambda o, shard, *a: calls.append(shard) or real(o, shard, *a)
    try:
        resumed = run_stage(recipe, "data")
    finally:
        local_engine.shard_task = real
    assert calls == shards[2:]  # only the unfinished shards ran
    assert {s: (Path(out) / "kept" / s).stat().st_mtime_ns for s in shards[:2]} == stamp
    clean_out = Path(clean.manifest.uri)
    for name in ("kept", "rejected", "quarantined"):
        assert _table(Path(out) / name).to_pylist() == _table(clean_out / name).to_pylist()
    assert resumed.manifest.counts == clean.manifest.counts
    assert resumed.key == clean.key


def test_sampling_and_licence_policy_reject_with_reasons(shared_dir, tmp_path):
    source = _dev_slice(shared_dir, tmp_path)
    recipe = _recipe(tmp_path, source, sampling={"rates": {"java": 0.0, "go": 0.0}},
                     licenses={"deny": ["Apache-2.0"]})
    out = Path(run_stage(recipe, "data").manifest.uri)
    rejected = _table(out / "rejected").to_pylist()
    reasons = {r["reject_reason"] for r in rejected}
    assert "license:Apache-2.0" in reasons and "sampling:go" in reasons
    kept = _table(out / "kept").to_pylist()
    assert not any(r["program_lang"] in ("java", "go") for r in kept)
    assert not any(r["license"] == "Apache-2.0" for r in kept)


def test_tiny_recipe_data_section_validates_with_paper_defaults():
    recipe = load_recipe(REPO / "recipes/tiny.yaml")
    cfg = recipe.stage_config("data")
    assert cfg.dedup.lsh_params() == (16, 128) and cfg.dedup.num_perm == 2048
    assert cfg.sampling.rates == {"java": 0.489, "html": 0.3005}
    assert cfg.ingest.sources[0].kind == "embedded"
