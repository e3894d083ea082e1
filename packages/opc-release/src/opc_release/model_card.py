"""The model card (``README.md``): every fact on it is read from a manifest, none is typed by hand.

    data manifest      ─▶ funnel by language, dedup/filter settings, record counts, licences (attribution)
    tokenize manifest  ─▶ tokenizer, mixture (target vs achieved shares), tokens per language
    model manifest(s)  ─▶ architecture, steps and tokens per training stage, losses
    eval manifest      ─▶ the eval table (whatever benchmarks it holds, numbers as recorded)
    every manifest     ─▶ the lineage chain: stage, content key, fingerprint, URI, raw sources

``CardFacts`` gathers the manifests; ``render_card`` is a pure function of them, so a test that edits
a number in a manifest sees exactly that number on the card. Numbers from manifests are printed as
JSON prints them (no rounding) where a reader may want to match them; the rest is rounded for reading.
This module does not decide what to release or write files (``stage.py`` does).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from opc_core.manifest import Manifest

CONTAINER_KEYS = {"by_language", "languages", "per_language", "by_lang", "steps", "by_step"}


@dataclass
class CardFacts:
    name: str
    version: str
    release_key: str
    license: str
    intended_use: str
    limitations: list[str]
    recipe: dict[str, Any]
    model_config: dict[str, Any]
    model_params: int
    model: Manifest
    tokens: Manifest
    data: Manifest
    eval: Manifest | None
    lineage: list[tuple[int, str, Manifest | None, str]] = field(default_factory=list)
    attribution: dict[str, Any] = field(default_factory=dict)


def _num(v: Any) -> str:
    return json.dumps(v) if isinstance(v, int | float) and not isinstance(v, bool) else str(v)


def _human(n: float) -> str:
    for unit, div in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= div:
            return f"{n / div:.2f}{unit}"
    return f"{n:g}"


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _cells(obj: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """Leaf dicts carrying a numeric ``files`` count, with their key path (container keys dropped)."""
    out: list[tuple[tuple[str, ...], dict[str, Any]]] = []
    if not isinstance(obj, dict):
        return out
    if isinstance(obj.get("files"), int | float):
        out.append((path, obj))
    for k, v in obj.items():
        if isinstance(v, dict):
            out += _cells(v, path if k in CONTAINER_KEYS else (*path, str(k)))
    return out


def funnel_section(funnel: Any, token_langs: dict[str, dict[str, int]]) -> str:
    """The data funnel: files and bytes after each step, then in -> kept -> tokens per language.

    Reads the data stage's ``metrics.funnel`` (``steps`` list + ``languages`` in/kept counts); any other
    nested ``{step: {language: {files, bytes}}}`` shape is rendered as a step-by-language grid.
    """
    if isinstance(funnel, dict) and isinstance(funnel.get("steps"), list):
        return _opc_data_funnel(funnel, token_langs)
    cells = [(p, c) for p, c in _cells(funnel) if len(p) == 2]
    if not cells:
        rows = [[lang, _num(c.get("natural_train", 0)), _num(c.get("train", 0)), _num(c.get("val", 0))]
                for lang, c in token_langs.items()]
        note = "The data manifest records no per-language funnel; tokens per language from the tokenize manifest:\n\n"
        return note + _table(["language", "tokens (natural train)", "tokens (train, mixed)", "tokens (val)"], rows)
    first = list(dict.fromkeys(p[0] for p, _ in cells))
    second = list(dict.fromkeys(p[1] for p, _ in cells))
    known = {lang.lower() for lang in token_langs}
    lang_first = len(known & {x.lower() for x in first}) > len(known & {x.lower() for x in second})
    langs, steps = (first, second) if lang_first else (second, first)
    grid = {(p[0], p[1]) if lang_first else (p[1], p[0]): c for p, c in cells}
    header = ["language", *[f"{s} files (bytes)" for s in steps], "train tokens", "val tokens"]
    rows = []
    for lang in langs:
        row: list[Any] = [lang]
        for s in steps:
            c = grid.get((lang, s))
            row.append("" if c is None else f"{_num(c['files'])} ({_human(c.get('bytes', 0))})")
        t = token_langs.get(lang, {})
        rows.append([*row, _num(t.get("train", 0)), _num(t.get("val", 0))])
    return _table(header, rows)


def _opc_data_funnel(funnel: dict[str, Any], token_langs: dict[str, dict[str, int]]) -> str:
    steps = [[s.get("step", "?"), _num(s.get("files", "")), _human(s.get("bytes", 0)), _num(s.get("removed_files", "")),
              _human(s.get("removed_bytes", 0))] for s in funnel["steps"]]
    text = _table(["after step", "files", "bytes", "removed files", "removed bytes"], steps)
    langs = funnel.get("languages") or {}
    rows = []
    for lang in dict.fromkeys([*langs, *token_langs]):
        f, t = langs.get(lang, {}), token_langs.get(lang, {})
        rows.append([lang, _num(f.get("in_files", 0)), _human(f.get("in_bytes", 0)), _num(f.get("kept_files", 0)),
                     _human(f.get("kept_bytes", 0)), _num(t.get("train", 0)), _num(t.get("val", 0))])
    text += "\n\nBy language (raw files in -> files kept by the data stage -> tokens after the mixture):\n\n"
    text += _table(["language", "files in", "bytes in", "files kept", "bytes kept", "train tokens", "val tokens"],
                   rows)
    reasons = funnel.get("reasons") or {}
    if reasons:
        top = ", ".join(f"{k} {_num(v)}" for k, v in list(reasons.items())[:12])
        text += f"\n\nMost frequent removal reasons (files): {top}."
    return text


def _samples_per_task(v: dict[str, Any]) -> Any:
    """The eval manifest counts samples in all (``n_samples``); a reader wants them per task."""
    if "samples_per_task" in v:
        return v["samples_per_task"]
    tasks, samples = v.get("n_tasks"), v.get("n_samples")
    if isinstance(tasks, int) and isinstance(samples, int) and tasks > 0:
        return samples // tasks if samples % tasks == 0 else round(samples / tasks, 2)
    return ""


def eval_section(manifest: Manifest | None) -> str:
    if manifest is None:
        return "This release was not evaluated (no eval stage in its lineage)."
    benches = {k: v for k, v in manifest.metrics.items() if isinstance(v, dict)}
    if not benches:
        return f"The eval manifest ({manifest.key}) records no benchmark results."
    pass_keys = sorted({k for v in benches.values() for k in v if k.startswith("pass@")},
                       key=lambda k: int(k[5:]) if k[5:].isdigit() else 10**9)
    extra = {"n_tasks": "tasks", "samples_per_task": "samples per task", "mode": "mode"}
    benches = {b: {**v, "samples_per_task": _samples_per_task(v)} for b, v in benches.items()}
    extra = {k: label for k, label in extra.items() if any(v.get(k) not in (None, "") for v in benches.values())}
    rows = [[b, *[_num(v[k]) if k in v else "" for k in pass_keys], *[_num(v.get(k, "")) for k in extra]]
            for b, v in sorted(benches.items())]
    return (_table(["benchmark", *pass_keys, *extra.values()], rows)
            + f"\n\nFrom the eval manifest `{manifest.key}` (unbiased pass@k; numbers as recorded there).")


def training_section(facts: CardFacts) -> str:
    rows, seen = [], set()
    for _, _, m, _ in facts.lineage:
        if m is not None and "tokens_seen" in m.metrics and (m.stage, m.key) not in seen:
            seen.add((m.stage, m.key))
            mt = m.metrics
            rows.append([m.stage, f"`{m.key}`", _num(mt.get("steps", "")), _num(mt["tokens_seen"]),
                         _num(mt.get("final_val_loss", "")), _num(mt.get("unigram_val_loss", ""))])
    tm = facts.tokens.metrics
    text = _table(["stage", "content key", "steps", "tokens seen", "final val loss (nats/token)",
                   "unigram baseline val loss"], rows) if rows else "No training manifest records tokens_seen."
    return text + (f"\n\nToken data (`tokenize` {facts.tokens.key}): {_num(tm.get('train_tokens', '?'))} training and "
                   f"{_num(tm.get('val_tokens', '?'))} validation tokens; the validation split holds out "
                   f"{_num(tm.get('val_repos', '?'))} whole repositories.")


def mixture_section(tokens: Manifest) -> str:
    sources = tokens.metrics.get("sources", {})
    rows = [[n, _num(s.get("weight")), f"{s.get('target_share', 0):.3f}", f"{s.get('achieved_share', 0):.3f}",
             _num(s.get("natural_train_tokens")), _num(s.get("train_tokens")), f"{s.get('multiplier', 0):.3f}"]
            for n, s in sources.items()]
    return _table(["source", "weight", "target share", "achieved share", "natural tokens", "train tokens",
                   "multiplier"], rows)


def data_settings_section(data: Manifest) -> str:
    c = data.counts
    counts = (f"Records: {c.records_in} in, {c.kept} kept, {c.rejected} rejected, {c.quarantined} quarantined "
              f"(data stage `{data.key}`).\n\n") if c else ""
    settings = yaml.safe_dump(data.config, sort_keys=True, default_flow_style=False).strip() if data.config else "{}"
    return counts + "Data stage settings (dedup, filters, sampling) as resolved in its manifest:\n\n```yaml\n" \
        + settings + "\n```"


def lineage_section(facts: CardFacts) -> str:
    rows, seen, sources = [], set(), []
    for _, role, m, uri in facts.lineage:
        if m is None:
            if role == "source" and uri not in sources:
                sources.append(uri)
            elif role != "source":
                rows.append([role, "(manifest missing)", "", f"`{'/'.join(uri.rstrip('/').split('/')[-2:])}`"])
        elif (m.stage, m.key) not in seen:
            seen.add((m.stage, m.key))
            rows.append([m.stage, f"`{m.key}`", f"`{m.fingerprint}`", f"`{m.stage}/{m.key}`"])
    rows += [["raw source", "", "", f"`{uri}`"] for uri in sources]
    # outputs by stage and key under the workdir, never by machine path: two workdirs give the same card
    return _table(["stage", "content key", "output fingerprint", "output (in the workdir)"], rows)


def license_section(facts: CardFacts) -> str:
    lic = facts.attribution.get("licenses", {})
    rows = [[name, _num(v.get("repositories", "")), _num(v.get("files", ""))] for name, v in sorted(lic.items())]
    table = _table(["licence", "repositories", "files"], rows) if rows else "(attribution.json lists no licences)"
    return (f"Model weights: **{facts.license}**. Training data licences (from the data stage's "
            f"`attribution.json`, shipped with this release):\n\n{table}")


def render_card(facts: CardFacts) -> str:
    mc = facts.model_config
    recipe = facts.recipe
    front = {"license": facts.license, "library_name": "transformers", "pipeline_tag": "text-generation",
             "tags": ["code", "llama", "opencoder-cookbook"], "opc": {"name": facts.name, "version": facts.version,
                                                                      "release_key": facts.release_key}}
    heads = f"{mc['n_heads']} heads / {mc['n_kv_heads']} KV heads"
    limits = "\n".join(f"- {x}" for x in facts.limitations)
    parts = [
        "---\n" + yaml.safe_dump(front, sort_keys=False).strip() + "\n---",
        f"# {facts.name} {facts.version}",
        f"A {_human(facts.model_params)}-parameter LLaMA-style code model (decoder only: RMSNorm, RoPE theta "
        f"{mc['rope_theta']:g}, SwiGLU, {heads}; {mc['n_layers']} layers, hidden {mc['dim']}, FFN {mc['ffn_dim']}, "
        f"context {mc['max_seq_len']}, vocabulary {mc['vocab_size']}), trained from scratch by the OpenCoder "
        f"Cookbook after the OpenCoder paper (arXiv 2411.04905). Released from the `{facts.model.stage}` output "
        f"`{facts.model.key}`; release key `{facts.release_key}`. Loads as `LlamaForCausalLM`; the tokenizer "
        "carries the ChatML chat template (`<|im_start|>` / `<|im_end|>`).",
        "## Recipe",
        f"`{recipe.get('name')}` version {recipe.get('version')} (seed {recipe.get('seed')}): "
        f"{recipe.get('description', '')}\n\nPipeline: {' -> '.join(recipe.get('pipeline', []))}",
        "## Evaluation", eval_section(facts.eval),
        "## Training tokens per stage", training_section(facts),
        "## Data funnel by language", funnel_section(facts.data.metrics.get("funnel"),
                                                      facts.tokens.metrics.get("languages", {})),
        "## Pretraining mixture", mixture_section(facts.tokens),
        "## Dedup and filter settings", data_settings_section(facts.data),
        "## Intended use and limits", facts.intended_use + "\n\n" + limits,
        "## License", license_section(facts),
        "## Lineage",
        "Content keys of every upstream output (`opc lineage <key>` walks the same chain); a weight file traces "
        "back through them to the raw dumps.\n\n" + lineage_section(facts),
        "## Verify",
        "`sha256sum -c SHA256SUMS` inside this directory, or `opc release verify <dir|uri>` (checksums, "
        "transformers load, logits against the cookbook's own model, generation).",
    ]
    return "\n\n".join(parts) + "\n"
