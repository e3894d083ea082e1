"""Incremental releases: a release extending a previous one (the ``previous`` role of a retrain) is numbered
and versioned after it, and its card says what changed — new data, tokens, training, eval deltas — read only
from the manifests of the two releases; a release without ``previous`` is release 1, rendered as before."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from opc_core.content_key import output_fingerprint
from opc_core.manifest import Counts, InputRef, Manifest, write_manifest
from opc_release.model_card import CardFacts, changes_section, previous_release_facts, render_card
from opc_release.stage import STAGE, ReleaseConfig, previous_release_ref, release_names, release_number

RECIPE = {"name": "tiny", "version": "0.1.0", "seed": 1234, "description": "release test recipe",
          "pipeline": ["data", "tokenize", "pretrain", "eval", "release"]}
PREV_EVAL = {"humaneval": {"pass@1": 0.0121951, "pass@10": 0.0487805, "n_tasks": 164, "n_samples": 1640},
             "mbpp": {"pass@1": 0.0246, "n_tasks": 378, "n_samples": 378}}
NOW_EVAL = {"humaneval": {"pass@1": 0.0243902, "pass@10": 0.0426829, "n_tasks": 164, "n_samples": 1640},
            "mbpp": {"pass@1": 0.0246, "n_tasks": 378, "n_samples": 378},
            "leetcode": {"pass@1": 0.05, "n_tasks": 180, "n_samples": 180}}
MODEL_CONFIG = {"vocab_size": 512, "dim": 64, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2, "ffn_dim": 160,
                "max_seq_len": 128, "rope_theta": 10000.0}


def _m(wd: Path, stage: str, key: str, inputs: dict[str, Manifest] | None = None, **extra) -> Manifest:
    uri = wd / stage / key
    uri.mkdir(parents=True, exist_ok=True)
    m = Manifest(stage=stage, key=key, uri=str(uri), fingerprint=output_fingerprint(str(uri))[0], code_version="t",
                 created="2026-12-01T00:00:00Z", recipe=RECIPE,
                 inputs={r: InputRef(stage=i.stage, key=i.key, uri=i.uri, fingerprint=i.fingerprint)
                         for r, i in (inputs or {}).items()}, **extra)
    write_manifest(m)
    return m


def _previous_release(wd: Path, metrics: dict | None = None) -> Manifest:
    """Release 1 and the manifests it was made from: data, tokenize, pretrain, eval."""
    data = _m(wd, "data", "da1a000000000001", counts=Counts.model_validate({"in": 230, "kept": 180, "rejected": 50}))
    tokens = _m(wd, "tokenize", "70c0000000000001", {"data": data}, metrics={"train_tokens": 50_000})
    pre = _m(wd, "pretrain", "9e00000000000001", {"tokens": tokens},
             metrics={"steps": 40, "tokens_seen": 81_920, "final_val_loss": 4.6})
    ev = _m(wd, "eval", "e0a1000000000001", {"model": pre, "tokens": tokens}, metrics=PREV_EVAL)
    return _m(wd, "release", "ae1e000000000001", {"model": pre, "tokens": tokens, "data": data, "eval": ev},
              metrics=metrics if metrics is not None else {"name": "opc-tiny", "version": "0.1.0",
                                                           "release_number": 1})


def _current(wd: Path, previous: Manifest) -> dict[str, Manifest]:
    """This release's inputs, each extending the previous version's output (the metrics the stages record)."""
    data = _m(wd, "data", "da1a000000000002", counts=Counts.model_validate(
        {"in": 120, "kept": 100, "rejected": 18, "quarantined": 2}),
        metrics={"incremental": {"previous_key": "da1a000000000001", "units_total": 7, "units_new": 3,
                                 "units_skipped": 4, "index_records": 180, "exact_removed": 11,
                                 "fuzzy_removed": 5}})
    tokens = _m(wd, "tokenize", "70c0000000000002", {"data": data}, metrics={
        "train_tokens": 12_345, "incremental": {"previous_key": "70c0000000000001", "tokenizer_from": "70c0000000000001",
                                                "new_train_tokens": 12_345, "previous_train_tokens_total": 50_000,
                                                "train_tokens_total": 62_345}})
    pre = _m(wd, "pretrain", "9e00000000000002", {"tokens": tokens}, metrics={
        "steps": 12, "tokens_seen": 24_576, "final_val_loss": 4.35,
        "incremental": {"previous_key": "9e00000000000001", "init_from": "9e00000000000001",
                        "previous_final_val_loss": 4.6}})
    ev = _m(wd, "eval", "e0a1000000000002", {"model": pre, "tokens": tokens}, metrics=NOW_EVAL)
    return {"model": pre, "tokens": tokens, "data": data, "eval": ev}


def _facts(inputs: dict[str, Manifest], previous: Manifest | None) -> CardFacts:
    number = release_number(previous)
    name, version = release_names(ReleaseConfig(), RECIPE, "tiny", number)
    return CardFacts(name=name, version=version, release_key="feedfeedfeedfeed", license="apache-2.0",
                     intended_use="tests", limitations=["none"], recipe=RECIPE, model_config=MODEL_CONFIG,
                     model_params=123_456, model=inputs["model"], tokens=inputs["tokens"], data=inputs["data"],
                     eval=inputs.get("eval"), base_eval=inputs.get("eval_base"), release_number=number,
                     previous=previous_release_facts(previous) if previous is not None else None)


def _front(card: str) -> dict:
    return yaml.safe_load(card.split("---\n", 2)[1])


def _section(card: str, title: str) -> str:
    return card.split(f"## {title}", 1)[1].split("\n## ", 1)[0]


def test_release_numbers_and_versions():
    cfg = ReleaseConfig()
    assert release_number(None) == 1
    assert release_names(cfg, RECIPE, "tiny") == ("opc-tiny", "0.1.0")
    assert release_names(cfg, RECIPE, "tiny", 2) == ("opc-tiny", "0.1.0-r2")
    assert release_names(ReleaseConfig(version="2.0"), RECIPE, "tiny", 3) == ("opc-tiny", "2.0-r3")
    prev = Manifest(stage="release", key="k1", uri="/x", fingerprint="f", code_version="c", created="t",
                    metrics={"version": "0.1.0-r4", "release_number": 4})
    assert release_number(prev) == 5
    assert previous_release_ref(prev) == {"key": "k1", "version": "0.1.0-r4", "release_number": 4}
    assert release_number(prev.model_copy(update={"metrics": {"version": "0.1.0"}})) == 2  # an older release: 1
    assert previous_release_ref(None) is None
    assert STAGE.extends


def test_card_shows_what_changed_with_signed_eval_deltas(tmp_path):
    previous = _previous_release(tmp_path)
    card = render_card(_facts(_current(tmp_path, previous), previous))
    assert card.splitlines()[card.splitlines().index("---", 1) + 2] == "# opc-tiny 0.1.0-r2"
    sections = [line[3:] for line in card.splitlines() if line.startswith("## ")]
    assert sections[0] == "What changed since 0.1.0" and sections[1] == "How to use"
    text = _section(card, "What changed since 0.1.0")
    assert "Release 2 of opc-tiny, retrained incrementally on top of release 1 (0.1.0, release key " \
           "`ae1e000000000001`)" in text
    rows = {line.split("|")[1].strip(): line.split("|")[2].strip() for line in text.splitlines()
            if line.startswith("| ") and line.count("|") == 4}
    assert rows["new source units"] == "3 new source units; 4 already in an earlier version (skipped); 7 in all"
    assert rows["new records (files)"] == "120 in: 100 kept, 18 rejected, 2 quarantined"
    assert rows["removed as duplicates of earlier versions"] == \
        "11 exact, 5 near (fuzzy), against an index of 180 earlier records"
    assert rows["new training tokens"] == "12,345"
    assert rows["training tokens in all"] == "50,000 -> 62,345 (+12,345)"
    assert rows["tokenizer"] == "reused from `tokenize` `70c0000000000001`"
    assert rows["training"] == ("continued from `pretrain` `9e00000000000001`'s weights; 12 steps, "
                                "24,576 tokens seen")
    assert rows["validation loss (nats/token)"] == "4.6000 -> 4.3500 (-0.2500)"
    assert "| benchmark | metric | 0.1.0 (previous) | 0.1.0-r2 (this release) | change |" in text
    assert "| humaneval | pass@1 | 0.0121951 | 0.0243902 | +0.0121951 |" in text
    assert "| humaneval | pass@10 | 0.0487805 | 0.0426829 | -0.0060976 |" in text
    assert "| mbpp | pass@1 | 0.0246 | 0.0246 | 0 |" in text
    assert "| leetcode | pass@1 | not recorded | 0.05 |  |" in text
    assert "`eval` `e0a1000000000001` -> `eval` `e0a1000000000002`" in text
    front = _front(card)
    assert front["opc"]["version"] == "0.1.0-r2" and front["opc"]["release_number"] == 2
    assert front["opc"]["previous_release"] == {"version": "0.1.0", "release_key": "ae1e000000000001"}
    got = {(r["dataset"]["type"], m["type"]): m["value"] for r in front["model-index"][0]["results"]
           for m in r["metrics"]}
    assert got[("humaneval", "pass@1")] == 0.0243902 and got[("leetcode", "pass@1")] == 0.05
    assert str(tmp_path) not in card


def test_the_changes_section_is_the_same_from_two_workdirs(tmp_path):
    """Releases are byte-reproducible: the section names outputs by stage and key, never by where they are."""
    cards = []
    for wd in (tmp_path / "a", tmp_path / "elsewhere" / "b"):
        previous = _previous_release(wd)
        cards.append(render_card(_facts(_current(wd, previous), previous)))
    assert cards[0] == cards[1] and "What changed since 0.1.0" in cards[0]


def test_base_and_instruct_eval_deltas(tmp_path):
    previous = _previous_release(tmp_path)
    inputs = _current(tmp_path, previous)
    inputs["eval_base"] = _m(tmp_path, "eval_base", "eba5000000000002", metrics={"humaneval": {"pass@1": 0.1}})
    text = changes_section(_facts(inputs, previous))
    assert "| model | benchmark | metric |" in text
    assert "| base | humaneval | pass@1 | not recorded | 0.1 |  |" in text  # release 1 had no base eval
    assert "| instruct | humaneval | pass@1 | 0.0121951 | 0.0243902 | +0.0121951 |" in text


def test_missing_pieces_say_not_recorded(tmp_path):
    previous = _previous_release(tmp_path, metrics={})  # an old release: no number, no version recorded
    inputs = _current(tmp_path, previous)
    inputs["data"] = _m(tmp_path, "data", "da1a00000000000f", metrics={"incremental": {"units_new": 2}})
    inputs["tokens"] = _m(tmp_path, "tokenize", "70c000000000000f", metrics={"train_tokens": 60_000})
    inputs["model"] = _m(tmp_path, "pretrain", "9e0000000000000f", metrics={"steps": 5})
    del inputs["eval"]
    facts = _facts(inputs, previous)
    assert facts.version == "0.1.0-r2"
    text = changes_section(facts)
    assert "release 1 (release 1, release key" in text
    assert "2 new source units |" in text and "| new records (files) | not recorded |" in text
    assert "not recorded exact, not recorded near (fuzzy)" in text
    assert "rebuilt in full, no incremental record: 50,000 -> 60,000 (+10,000)" in text
    assert "trained from scratch (no incremental record); 5 steps, not recorded tokens seen" in text
    assert "| validation loss (nats/token) | 4.6000 -> not recorded |" in text
    assert "| humaneval | pass@1 | 0.0121951 | not recorded |  |" in text
    # carried-over outputs are named as such, not as new work
    same = _facts({**inputs, "data": previous_release_facts(previous).inputs["data"]}, previous)
    assert "no new data: this release reads the previous release's data output" in changes_section(same)


def test_first_release_has_no_changes_section(tmp_path):
    previous = _previous_release(tmp_path)
    inputs = _current(tmp_path, previous)
    card = render_card(_facts(inputs, None))
    assert "What changed" not in card and "# opc-tiny 0.1.0\n" in card
    assert set(_front(card)["opc"]) == {"name", "version", "release_key"}


def test_first_release_is_number_1(released):
    _, result, model_dir = released
    assert result.metrics["release_number"] == 1 and result.metrics["previous_release"] is None
    meta = json.loads((model_dir / "opc_release.json").read_text())
    assert (meta["version"], meta["release_number"], meta["previous_release"]) == ("0.1.0", 1, None)
    assert "What changed" not in (model_dir / "README.md").read_text()


@pytest.fixture
def second_release(released, upstream, tmp_path):
    """The release stage run on top of ``released`` as its ``previous`` (what a retrain's runner passes)."""
    first_ctx, first, _ = released
    prev = Manifest(stage="release", key=first_ctx.key, uri=first_ctx.output_uri,
                    fingerprint=output_fingerprint(first_ctx.output_uri, ("publish.json",))[0], code_version="t",
                    created="2026-12-01T00:00:00Z", metrics=first.metrics, artifacts={"model": "model"},
                    inputs={r: InputRef(stage=m.stage, key=m.key, uri=m.uri, fingerprint=m.fingerprint)
                            for r, m in first_ctx.inputs.items()})
    ctx = upstream.ctx(key="5ec05ec05ec05ec0")
    ctx.inputs["previous"] = prev
    result = STAGE.run(ReleaseConfig(verify=False, publish_to=[str(tmp_path / "pub")]), ctx)
    return ctx, result, Path(ctx.output_uri) / "model"


def test_release_stage_extending_a_previous_release(second_release, released, tmp_path):
    from opc_release.checksums import check_sums
    from opc_release.publish import publish

    ctx, result, model_dir = second_release
    first_ctx, _, first_dir = released
    assert result.metrics["release_number"] == 2 and result.metrics["version"] == "0.1.0-r2"
    assert result.metrics["previous_release"] == {"key": first_ctx.key, "version": "0.1.0", "release_number": 1}
    assert "released opc-tiny 0.1.0-r2 (release 2, after 0.1.0) at" in result.summary
    meta = json.loads((model_dir / "opc_release.json").read_text())
    assert (meta["version"], meta["release_number"]) == ("0.1.0-r2", 2)
    assert meta["previous_release"] == result.metrics["previous_release"]
    card = (model_dir / "README.md").read_text()
    assert "# opc-tiny 0.1.0-r2" in card and "## What changed since 0.1.0" in card
    # the same upstream outputs: nothing new, and the eval did not move
    assert "no new data: this release reads the previous release's data output" in card
    assert "not retrained: the same pretrain output as the previous release" in card
    assert "| humaneval | pass@1 | 0.0121951 | 0.0121951 | 0 |" in card
    assert check_sums(model_dir) == [] and str(ctx.workdir) not in card
    assert str(ctx.workdir) not in (model_dir / "opc_release.json").read_text()
    # both versions side by side under name/version
    publish(first_dir, str(tmp_path / "pub"))
    assert (tmp_path / "pub" / "opc-tiny" / "0.1.0" / "SHA256SUMS").exists()
    assert (tmp_path / "pub" / "opc-tiny" / "0.1.0-r2" / "SHA256SUMS").exists()


def test_a_retrain_through_the_runner_publishes_release_2_next_to_release_1(upstream, tmp_path):
    """The runner's incremental retrain (``Extending``, redo only ``release``): the first release becomes the
    ``previous`` input of the second (its fingerprint enters the key); both stay addressable."""
    from opc_core.recipe import validate_recipe
    from opc_core.runner import Extending, run_stage

    recipe = validate_recipe({**RECIPE, "workdir": str(tmp_path / "work"),
                              "stages": {"release": {"verify": False, "publish_to": [str(tmp_path / "pub")]}}},
                             "test")
    carried = {"data": upstream.data, "tokenize": upstream.tokens, "pretrain": upstream.model, "eval": upstream.eval}
    first = run_stage(recipe, "release", extending=Extending(version=0, outputs=carried, redo=frozenset({"release"})))
    assert first.manifest.metrics["release_number"] == 1 and "previous" not in first.manifest.inputs
    second = run_stage(recipe, "release", extending=Extending(
        version=1, outputs={**carried, "release": first.manifest}, redo=frozenset({"release"})))
    m = second.manifest
    assert second.key != first.key and m.inputs["previous"].key == first.key
    assert (m.metrics["release_number"], m.metrics["version"]) == (2, "0.1.0-r2")
    assert m.metrics["previous_release"] == {"key": first.key, "version": "0.1.0", "release_number": 1}
    assert (tmp_path / "pub" / "opc-tiny" / "0.1.0" / "SHA256SUMS").exists()
    assert (tmp_path / "pub" / "opc-tiny" / "0.1.0-r2" / "SHA256SUMS").exists()
    assert "## What changed since 0.1.0" in (Path(m.uri) / "model" / "README.md").read_text()
    assert (Path(first.manifest.uri) / "_MANIFEST.json").exists()  # the old output stays where it was
