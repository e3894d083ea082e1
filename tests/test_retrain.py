"""Incremental scheduled retraining, end to end, through the `retrain` deployment of a real Prefect server.

A recipe over a source folder of JSONL dumps (real Python files of installed distributions) with the pipeline
data -> tokenize -> pretrain -> eval_base -> release. `retrain` is triggered through the API (what the cron
and the UI's Run button do): the first run makes version 1 (the whole pipeline). A second dump arrives with
new repositories, exact copies and near-copies of version-1 files; the second `retrain` makes version 2:
only the new dump is read, the cross-dump duplicates are removed pointing at the old files, the tokenizer is
reused and the new tokens appended, pretraining continues from version 1's weights, and release 2's card
shows the deltas (the new dump has one new repository: validation uses version 1's held-out shards). A third retrain with no new dump does nothing. Version 1's outputs are untouched.

Uses the `prefect_ui` server of tests/conftest.py (shared with test_prefect_server.py): its `retrain`
deployment runs any recipe passed as `recipe_path`.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import sysconfig
import urllib.request
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.prefect_server

TRIGGER = r"""
import sys
from prefect.deployments import run_deployment
run = run_deployment("retrain/retrain", parameters={"recipe_path": sys.argv[1], "overrides": []}, timeout=900)
print("STATE " + run.state.type.value, flush=True)
print("RUN " + str(run.id), flush=True)
"""


def _site_files(package: str, limit: int | None = None) -> list[tuple[str, str]]:
    """(relative path, text) of a distribution's .py files in this environment (real code, offline)."""
    root = Path(sysconfig.get_paths()["purelib"])
    base = root / package
    files = sorted(base.rglob("*.py")) if base.is_dir() else [root / f"{package}.py"]
    out = [(f"{package}/{p.relative_to(base).as_posix()}" if base.is_dir() else p.name, p.read_text("utf-8"))
           for p in files if p.stat().st_size > 1500]
    return out[:limit] if limit else out


def _write_dump(path: Path, records: list[dict]) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps({**r, "license": "mit"}) + "\n")


def _recipe(root: Path) -> Path:
    micro = yaml.safe_load((REPO / "tests/recipes/micro.yaml").read_text())
    stages = micro["stages"]
    data = {**stages["data"], "ingest": {"sources": [{"kind": "uri", "uri": str(root / "raw")}]}}
    recipe = {
        "name": "retrain-micro", "version": "0.1.0", "workdir": str(root / "work"), "seed": 7,
        "pipeline": ["data", "tokenize", "pretrain", "eval_base", "release"],
        "schedule": {"retrain_cron": "0 3 * * 0"},
        "stages": {
            "data": data,
            "tokenize": {"vocab_size": 512, "tokenizer_sample_bytes": 2_000_000, "val_fraction": 0.2,
                         "mixture": [{"name": "code", "input": "data", "weight": 1.0}]},
            "pretrain": {**stages["pretrain"], "max_steps": 30, "decay_fraction": 0.3, "eval_every": 15,
                         "checkpoint_every": 15},
            "eval_base": stages["eval_base"],
            "release": {"model_stage": "pretrain", "eval_stage": "eval_base", "name": "opc-retrain-micro"},
        },
    }
    path = root / "retrain-micro.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


def _trigger(prefect_ui, recipe: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_API_URL=prefect_ui.api, PREFECT_HOME=str(prefect_ui.workdir.parent / "client-home"))
    proc = subprocess.run([sys.executable, "-c", TRIGGER, str(recipe)], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=1000)
    out = proc.stdout + proc.stderr
    assert "STATE COMPLETED" in out, out[-3000:] + prefect_ui.logs.read_text()[-6000:]
    return out.split("RUN ", 1)[1].split()[0]


def _manifest(uri: str) -> dict:
    return json.loads((Path(uri) / "_MANIFEST.json").read_text())


def _versions(work: Path) -> list[dict]:
    return json.loads((work / "_versions" / "retrain-micro.json").read_text())["versions"]


def test_retrain_twice_extends_version_one(prefect_ui, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    work = tmp_path / "work"
    recipe = _recipe(tmp_path)
    dump1 = [{"repo_name": "acme/requests", "path": p, "content": t} for p, t in _site_files("requests")]
    dump1 += [{"repo_name": "acme/six", "path": p, "content": t} for p, t in _site_files("six")]
    _write_dump(raw / "dump-2026-11-27.jsonl.gz", dump1)

    _trigger(prefect_ui, recipe)  # version 1: the whole pipeline
    (v1,) = _versions(work)
    assert v1["version"] == 1 and v1["extends"] is None and v1["ran"] == ["data", "tokenize", "pretrain",
                                                                            "eval_base", "release"]
    m1 = {s: _manifest(o["uri"]) for s, o in v1["outputs"].items()}
    v1_manifest_bytes = {s: (Path(o["uri"]) / "_MANIFEST.json").read_bytes() for s, o in v1["outputs"].items()}
    assert m1["release"]["metrics"]["release_number"] == 1

    # the second dump: a new repository, 3 exact copies and 2 near-copies of files version 1 kept
    kept1 = pq.read_table(Path(m1["data"]["uri"]) / "kept").to_pylist()
    by_key = {(r["repo_name"], r["path"]): r for r in dump1}
    originals = sorted(((r["repo_name"], r["path"]) for r in kept1 if r["repo_name"] == "acme/requests"),
                       key=lambda k: -len(by_key[k]["content"]))[:5]
    copies = [{"repo_name": "mirror/requests", "path": f"vendor/{p}", "content": by_key[(rn, p)]["content"]}
              for rn, p in originals[:3]]
    for rn, p in originals[3:]:
        lines = by_key[(rn, p)]["content"].splitlines(keepends=True)
        lines.insert(len(lines) // 2, "# patched downstream\n")
        copies.append({"repo_name": "mirror/requests", "path": f"vendor/{p}", "content": "".join(lines)})
    new = [{"repo_name": "acme/idna", "path": p, "content": t} for p, t in _site_files("idna")]
    dump2 = new + copies
    _write_dump(raw / "dump-2026-12-04.jsonl.gz", dump2)

    run_id = _trigger(prefect_ui, recipe)  # version 2: only the new work
    v1_again, v2 = _versions(work)
    assert v1_again == v1 and v2["version"] == 2 and v2["extends"] == 1
    for s, o in v1["outputs"].items():  # version 1 stays addressable, untouched
        assert (Path(o["uri"]) / "_MANIFEST.json").read_bytes() == v1_manifest_bytes[s]
    m2 = {s: _manifest(o["uri"]) for s, o in v2["outputs"].items()}
    for stage in ("data", "tokenize", "pretrain", "release"):
        assert m2[stage]["key"] != m1[stage]["key"]
        assert m2[stage]["inputs"]["previous"]["key"] == m1[stage]["key"], stage  # keyed by what it extends

    # data: only the new dump was read; cross-dump duplicates removed, pointing at the version-1 files
    data2 = m2["data"]
    assert [Path(s).name for s in data2["sources"]] == ["dump-2026-12-04.jsonl.gz"]
    assert data2["counts"]["in"] == len(dump2)
    assert sum(data2["counts"][k] for k in ("kept", "rejected", "quarantined")) == len(dump2)
    rejected = {(r["repo_name"], r["path"]): r for r in pq.read_table(Path(data2["uri"]) / "rejected").to_pylist()}
    for copy, (rn, p) in zip(copies, originals, strict=True):
        row = rejected[(copy["repo_name"], copy["path"])]
        assert row["reject_reason"] == ("dedup:exact" if copy in copies[:3] else "dedup:fuzzy"), row
        assert (row["duplicate_of_repo_name"], row["duplicate_of_path"]) == (rn, p)
    kept2 = pq.read_table(Path(data2["uri"]) / "kept").to_pylist()
    assert {r["repo_name"] for r in kept2} == {"acme/idna"}
    inc = data2["metrics"]["incremental"]
    assert (inc["units_new"], inc["units_skipped"], inc["exact_removed"], inc["fuzzy_removed"]) == (1, 1, 3, 2)

    # tokens: the same tokenizer, new shards appended
    tok1, tok2 = (Path(m["uri"]) / "tokenizer" / "tokenizer.json" for m in (m1["tokenize"], m2["tokenize"]))
    assert tok1.read_bytes() == tok2.read_bytes()
    t_inc = m2["tokenize"]["metrics"]["incremental"]
    assert t_inc["previous_train_tokens_total"] == m1["tokenize"]["metrics"]["train_tokens"]
    assert t_inc["train_tokens_total"] == t_inc["previous_train_tokens_total"] + m2["tokenize"]["metrics"]["train_tokens"]
    # one new repository cannot be split: the continued model is validated on version 1's held-out shards
    val1, val2 = (Path(m["uri"]) / "val" / "index.json" for m in (m1["tokenize"], m2["tokenize"]))
    assert val1.read_bytes() == val2.read_bytes()

    # training continued from version 1's weights: its first loss is far below a fresh model's
    p1, p2 = m1["pretrain"]["metrics"], m2["pretrain"]["metrics"]
    assert p2["incremental"]["init_from"] == m1["pretrain"]["key"]
    assert p2["first_train_loss"] < p1["first_train_loss"] - 0.5, (p1["first_train_loss"], p2["first_train_loss"])
    assert m2["eval_base"]["inputs"]["model"]["key"] == m2["pretrain"]["key"]  # eval ran on the new model

    # release 2: a new version whose card shows what changed
    rel2 = m2["release"]["metrics"]
    assert rel2["release_number"] == 2 and rel2["version"] == "0.1.0-r2"
    assert rel2["previous_release"]["key"] == m1["release"]["key"]
    card = (Path(m2["release"]["uri"]) / "model" / "README.md").read_text()
    assert "What changed since" in card, card[:3000]
    assert f"{data2['counts']['kept']}" in card and f"{t_inc['train_tokens_total']:,}" in card

    # the flow run's artifact says which version it made and what each stage did
    req = urllib.request.Request(f"{prefect_ui.api}/artifacts/filter", method="POST",
                                 data=json.dumps({"artifacts": {"flow_run_id": {"any_": [run_id]}}}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        artifact = {a["key"]: a for a in json.load(r)}["retrain-version"]
    assert "## Version 2" in artifact["data"] and f"`{m1['pretrain']['key']}`" in artifact["data"]

    # lineage of version 2 runs through version 1 back to both dumps
    lineage = subprocess.run([sys.executable, "-m", "opc_core.cli", "lineage", m2["release"]["key"], "--workdir",
                              str(work)], capture_output=True, text=True, check=True).stdout
    assert "dump-2026-11-27.jsonl.gz" in lineage and "dump-2026-12-04.jsonl.gz" in lineage, lineage
    assert m1["pretrain"]["key"] in lineage

    # no new dump: the next retrain (here from the CLI, as a cron without Prefect would) does nothing
    proc = subprocess.run([sys.executable, "-m", "opc_core.cli", "retrain", "--recipe", str(recipe)],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and "nothing to do" in proc.stderr, proc.stderr[-2000:]
    assert len(_versions(work)) == 2
