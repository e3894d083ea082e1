"""The model card is rendered from manifests: edit a manifest, and the card says the new number."""

from __future__ import annotations

import json

from opc_core.manifest import read_manifest, write_manifest
from opc_release.stage import ReleaseConfig, build_release


def test_card_names_every_upstream_content_key_and_recorded_numbers(released, upstream):
    _, _, model_dir = released
    card = (model_dir / "README.md").read_text()
    for m in (upstream.data, upstream.tokens, upstream.model, upstream.eval):
        assert f"`{m.key}`" in card and m.fingerprint in card
    assert "| humaneval | 0.0121951 | 0.0487805 | 164 | 10 | completion |" in card
    assert "| benchmark | pass@1 | pass@10 | tasks | samples per task | mode |" in card  # 164 tasks x 10 samples
    assert "| mbpp | 0.0246 |  | 378 | 1 | completion |" in card
    assert "| dedup | 221 | 2.30M | 9 | 100.00k |" in card
    assert "| Python | 200 | 2.00M | 161 | 1.70M |" in card and "max_line_length 30" in card
    tokens = read_manifest(upstream.tokens.uri).metrics
    assert f"{tokens['train_tokens']} training" in card
    assert "| pretrain | `9a9a9a9a9a9a9a9a` | 40 | 81920 | 4.4321 | 5.1234 |" in card
    assert "num_perm: 2048" in card and "230 in, 180 kept, 48 rejected, 2 quarantined" in card
    assert "| MIT | 5 |" in card and "`embedded:typer,click,PyYAML`" in card


def test_an_eval_number_changed_in_the_manifest_appears_in_the_card(upstream):
    path = upstream.eval.uri
    original = read_manifest(path)
    edited = original.model_copy(deep=True)
    edited.metrics["humaneval"]["pass@1"] = 0.4242
    edited.metrics["leetcode"] = {"pass@1": 0.0777, "n_tasks": 180, "mode": "chat"}
    write_manifest(edited)
    try:
        ctx = upstream.ctx(key="ca4dca4dca4dca4d")
        from pathlib import Path

        model_dir = Path(ctx.output_uri) / "model"
        build_release(ReleaseConfig(verify=False), ctx, model_dir)
        card = (model_dir / "README.md").read_text()
    finally:
        write_manifest(original)
    assert "| humaneval | 0.4242 |" in card and "0.0121951" not in card
    assert "| leetcode | 0.0777 |" in card
    meta = json.loads((model_dir / "opc_release.json").read_text())
    assert meta["inputs"]["eval"]["key"] == upstream.eval.key


def test_card_without_an_eval_stage_says_so(upstream):
    from pathlib import Path

    ctx = upstream.ctx(key="0e0a10e0a10e0a10")
    del ctx.inputs["eval"]
    model_dir = Path(ctx.output_uri) / "model"
    build_release(ReleaseConfig(verify=False, eval_stage=None), ctx, model_dir)
    assert "This release was not evaluated" in (model_dir / "README.md").read_text()
