"""The whole lifecycle on the micro recipe, through the same CLI a user types.

One micro workdir per session (``micro_run``): data -> tokenize -> pretrain -> eval -> release. Then:
the released directory verifies; `opc status --json` shows every stage with the HF dir as release's uri;
the model card names every upstream content key and the eval pass@1 from the manifest; `opc reproduce`
(Prefect, in-process) is all cache hits; deleting one stage's manifest redoes that stage only, and a
deterministic redo leaves everything downstream cached.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from opc_core import storage
from opc_core.manifest import read_manifest

STAGES = ["data", "tokenize", "pretrain", "eval", "release"]  # the release's lineage
PIPELINE = ["data", "tokenize", "pretrain", "eval", "algorithmic", "synth", "release"]  # the micro recipe


def _opc(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "opc_core.cli", *args], capture_output=True, text=True, env=env)


def _status(workdir) -> dict[str, dict]:
    proc = _opc("status", "--json", "--workdir", str(workdir))
    assert proc.returncode == 0, proc.stderr
    return {e["stage"]: e for e in json.loads(proc.stdout)}


def test_release_verifies_and_status_points_at_the_model_dir(micro_run):
    workdir, keys = micro_run
    assert list(keys) == PIPELINE
    status = _status(workdir)
    assert all(status[s]["complete"] and status[s]["key"] == keys[s] for s in PIPELINE)
    model_dir = status["release"]["uri"]
    assert model_dir.endswith("/model") and storage.exists(storage.join(model_dir, "config.json"))
    proc = _opc("release", "verify", model_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_model_card_carries_lineage_keys_and_eval_numbers_from_manifests(micro_run):
    workdir, keys = micro_run
    card = storage.read_text(storage.join(str(workdir), "release", keys["release"], "model", "README.md"))
    for stage in ("data", "tokenize", "pretrain", "eval"):
        assert keys[stage] in card, f"{stage} key missing from the model card"
    eval_manifest = read_manifest(storage.join(str(workdir), "eval", keys["eval"]))
    pass1 = eval_manifest.metrics["humaneval"]["pass@1"]
    assert f"{pass1:.3f}" in card or str(pass1) in card


def test_lineage_reaches_the_raw_sources(micro_run):
    workdir, keys = micro_run
    proc = _opc("lineage", keys["release"], "--workdir", str(workdir))
    assert proc.returncode == 0, proc.stderr
    for stage in STAGES:
        assert f"{stage} {keys[stage]}" in proc.stdout
    assert "raw source" in proc.stdout


def test_reproduce_again_is_all_cache_hits_and_deleted_manifest_redoes_only_that_stage(micro_run, micro_recipe_path):
    workdir, keys = micro_run
    MICRO = micro_recipe_path
    overrides = [f"workdir={workdir}"]
    proc = _opc("reproduce", "--recipe", str(MICRO), *overrides)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "all stages were cache hits" in proc.stderr
    tokenize = storage.join(str(workdir), "tokenize", keys["tokenize"])
    before = read_manifest(tokenize)
    storage.remove(before.path())
    proc = _opc("reproduce", "--recipe", str(MICRO), *overrides)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = {line.split("│")[1].strip(): line for line in proc.stderr.splitlines() if line.count("│") > 3}
    assert "no (ran)" in rows["tokenize"]
    for stage in ("data", "pretrain", "eval", "release"):
        assert "cache hit" in rows[stage], rows[stage]
    after = read_manifest(tokenize)
    assert after.fingerprint == before.fingerprint and after.key == before.key
