"""The model card is rendered from manifests: edit a manifest, and the card says the new number; the card has
what a Hugging Face code-model card has (front matter, how to use, training procedure, citation) and no
machine path."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from opc_core.manifest import read_manifest, write_manifest
from opc_release.model_card import funnel_section, public_source
from opc_release.stage import ReleaseConfig, build_release


def _front(card: str) -> dict:
    assert card.startswith("---\n")
    return yaml.safe_load(card.split("---\n", 2)[1])


def _sections(card: str) -> list[str]:
    return [line[3:] for line in card.splitlines() if line.startswith("## ")]


def test_card_names_every_upstream_content_key_and_recorded_numbers(released, upstream):
    _, _, model_dir = released
    card = (model_dir / "README.md").read_text()
    for m in (upstream.data, upstream.tokens, upstream.model, upstream.eval):
        assert f"`{m.key}`" in card and m.fingerprint in card
    assert ("| humaneval | HumanEval, 164 tasks, sampled (temperature 0.8, top-p 0.95), completion mode | 0.0121951 "
            "| 0.0487805 | 164 | 10 | completion |") in card
    assert "| benchmark | what was measured | pass@1 | pass@10 | tasks | samples per task | mode |" in card
    assert "| mbpp | MBPP, 378 tasks, sampled (temperature 0.8, top-p 0.95), completion mode | 0.0246 |  | 378 | 1 |" \
        in card
    assert "| dedup | 221 | 2.30 MB | 9 | 100.00 kB |" in card
    assert "| Python | 200 | 2.00 MB | 161 | 1.70 MB |" in card and "max_line_length 30" in card
    tokens = read_manifest(upstream.tokens.uri).metrics
    assert f"{tokens['train_tokens']:,} training" in card
    assert "230 in = 180 kept + 48 rejected + 2 quarantined" in card
    assert "| MIT | 5 |" in card and "`embedded:typer,click,PyYAML`" in card


def test_front_matter_parses_and_its_model_index_equals_the_eval_manifest(released, upstream):
    _, _, model_dir = released
    front = _front((model_dir / "README.md").read_text())
    assert front["library_name"] == "transformers" and front["pipeline_tag"] == "text-generation"
    assert front["license"] == "apache-2.0" and "code" in front["language"] and "en" in front["language"]
    assert front["datasets"] == ["embedded:typer,click,PyYAML"]
    results = front["model-index"][0]["results"]
    evals = read_manifest(upstream.eval.uri).metrics
    got = {(r["dataset"]["type"], m["type"]): m["value"] for r in results for m in r["metrics"]}
    want = {(b, k): v for b, s in evals.items() for k, v in s.items() if k.startswith("pass@")}
    assert got == want
    assert any(r["dataset"]["name"].startswith("HumanEval, 164 tasks") for r in results)


def test_card_has_the_sections_a_reader_looks_for_in_order(released):
    _, _, model_dir = released
    card = (model_dir / "README.md").read_text()
    sections = _sections(card)
    for s in ("How to use", "Evaluation", "Training procedure", "Intended use and limits", "License", "Lineage",
              "Citation"):
        assert s in sections, s
    assert sections.index("How to use") < sections.index("Evaluation") < sections.index("Training procedure")
    assert "AutoModelForCausalLM.from_pretrained" in card and "apply_chat_template" in card
    assert "arXiv:2411.04905" in card and card.count("```bibtex") == 2
    assert "This is the **base** model" in card and "(or SFT)" not in card
    # the settings are collapsed, not dumped in the body
    details = card[card.index("<details>"):card.index("</details>")]
    assert "num_perm: 2048" in details and "num_perm" not in card.replace(details, "")


def test_training_procedure_table_matches_the_model_manifest(released, upstream):
    _, _, model_dir = released
    card = (model_dir / "README.md").read_text()
    cfg, mt = read_manifest(upstream.model.uri).config, read_manifest(upstream.model.uri).metrics
    section = card.split("## Training procedure", 1)[1].split("\n## ", 1)[0]
    table = {line.split("|")[1].strip(): line.split("|")[2].strip() for line in section.splitlines()
             if line.startswith("| ")}
    assert table["optimizer"] == f"AdamW (betas {cfg['beta1']:g}, {cfg['beta2']:g})" == "AdamW (betas 0.9, 0.98)"
    assert table["peak learning rate"] == "0.003"
    assert table["schedule"].startswith("WSD: 4 warmup steps, 28 stable steps, 8 decay steps")
    assert table["batch x sequence"] == "16 x 128 = 2,048 tokens per step"  # 8 x 2 accumulation, 1 process
    assert table["tokens seen"].startswith(f"{mt['tokens_seen']:,}")
    assert table["weight decay"] == "0.05" and table["gradient clipping"] == "global norm 0.5"
    assert table["precision"] == "fp32" and table["hardware"] == "cpu, 1 process, torch"
    assert table["final validation loss (nats/token)"] == "4.4321"


def test_eval_row_says_how_many_of_the_benchmarks_tasks_ran(upstream):
    original = read_manifest(upstream.eval.uri)
    edited = original.model_copy(deep=True)
    edited.metrics["humaneval"] = {"pass@1": 0.4242, "n_tasks": 16, "n_samples": 16, "mode": "completion"}
    edited.metrics["leetcode"] = {"pass@1": 0.0777, "n_tasks": 180, "n_samples": 180, "mode": "chat"}
    edited.config = {"mode": "completion", "temperature": 0.0}
    write_manifest(edited)
    try:
        ctx = upstream.ctx(key="ca4dca4dca4dca4d")
        model_dir = Path(ctx.output_uri) / "model"
        build_release(ReleaseConfig(verify=False), ctx, model_dir)
        card = (model_dir / "README.md").read_text()
    finally:
        write_manifest(original)
    assert "| humaneval | HumanEval, 16 of 164 tasks, greedy, completion mode | 0.4242 |" in card
    assert "| leetcode | LeetCode, 180 tasks, greedy, chat mode | 0.0777 |" in card and "0.0121951" not in card
    assert _front(card)["model-index"][0]["results"][0]["metrics"][0]["value"] == 0.4242
    meta = json.loads((model_dir / "opc_release.json").read_text())
    assert meta["inputs"]["eval"]["key"] == upstream.eval.key


def test_card_without_an_eval_stage_says_so(upstream):
    ctx = upstream.ctx(key="0e0a10e0a10e0a10")
    del ctx.inputs["eval"]
    model_dir = Path(ctx.output_uri) / "model"
    build_release(ReleaseConfig(verify=False, eval_stage=None), ctx, model_dir)
    card = (model_dir / "README.md").read_text()
    assert "This release was not evaluated" in card and "model-index" not in _front(card)


def test_no_released_file_contains_an_absolute_path(released, upstream):
    _, _, model_dir = released
    abs_path = re.compile(r"(?<![\w:/.<>~-])/(?:[\w.-]+/)+[\w.-]*")
    for f in sorted(model_dir.rglob("*")):
        if not f.is_file() or f.suffix == ".safetensors":
            continue
        text = f.read_text(errors="replace")
        assert str(upstream.workdir) not in text, f.name
        assert abs_path.findall(text) == [], (f.name, abs_path.findall(text)[:3])


def test_a_local_raw_source_is_named_without_its_machine_path():
    assert public_source("/home/alice/dumps/github-2024") == "local:github-2024"
    assert public_source("s3://bucket/raw/") == "s3://bucket/raw/"
    assert public_source("embedded:six,requests") == "embedded:six,requests"


def test_counts_read_with_separators_plurals_agree_and_an_odd_zero_is_explained(released, upstream):
    _, _, model_dir = released
    card = (model_dir / "README.md").read_text()
    assert not re.search(r"(?<![\d,.])1 (whole )?repositories", card)
    text = funnel_section(read_manifest(upstream.data.uri).metrics["funnel"], {"Python": {"train": 1_234_567, "val": 890}})
    assert "| Python | 200 | 2.00 MB | 161 | 1.70 MB | 1,234,567 | 890 |" in text
    assert "Markdown: 19 files kept but 0 train tokens: the mixture gives its document type no weight" in text


def test_how_to_use_snippets_run_against_the_released_folder(released):
    _, _, model_dir = released
    card = (model_dir / "README.md").read_text()
    section = card.split("## How to use", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 2
    code = "\n".join(blocks).replace('path = "opc-tiny"', f"path = {str(model_dir)!r}")
    assert str(model_dir) in code
    exec(compile(code, "how_to_use", "exec"), {})  # noqa: S102 - our own card's example, on our own model
