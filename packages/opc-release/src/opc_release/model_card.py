"""The model card (``README.md``): every fact on it is read from a manifest, none is typed by hand.

    data manifest      ─▶ funnel by language, record counts, licences (attribution), settings (collapsed)
    tokenize manifest  ─▶ tokenizer, mixture (target vs achieved shares), tokens per language, web text
    model manifest(s)  ─▶ architecture, training procedure (optimizer, schedule, batch, tokens), losses
    eval manifest(s)   ─▶ front-matter ``model-index`` and the eval table, each row saying what it measured
                          ("HumanEval, 3 of 164 tasks, greedy, completion mode"); with the base model's
                          eval (eval_base) too, one row per model: base (completion) vs instruct (chat)
    every manifest     ─▶ the lineage chain: stage, content key, fingerprint, raw sources
    previous release   ─▶ (an incremental retrain) "What changed since <version>": new source units and records,
                          duplicates of earlier versions removed, new/total training tokens, the weights training
                          continued from, validation loss and eval scores previous -> now with signed differences

``CardFacts`` gathers the manifests; ``render_card`` is a pure function of them, so a test that edits
a number in a manifest sees exactly that number on the card. pass@k is printed as recorded (a reader
may match it against the manifest); counts get thousands separators, bytes and losses are rounded.
No machine path and nothing that differs between two identical runs (wall time, host) goes on the card:
two workdirs must release byte-identical folders. This module does not decide what to release or write
files (``stage.py`` does).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from opc_core.errors import OpcError
from opc_core.manifest import Manifest, try_read_manifest

CONTAINER_KEYS = {"by_language", "languages", "per_language", "by_lang", "steps", "by_step"}

# What each benchmark is called and how many tasks its full set holds (the eval may run a subset).
BENCHMARKS: dict[str, tuple[str, int | None]] = {
    "humaneval": ("HumanEval", 164), "humanevalplus": ("HumanEval+", 164), "mbpp": ("MBPP", None),
    "mbppplus": ("MBPP+", 378), "bigcodebench-hard": ("BigCodeBench-Hard", 148), "leetcode": ("LeetCode", None),
}
TRAINING_STAGES = ("pretrain", "anneal", "sft1", "sft2", "sft")

OPENCODER_BIBTEX = """@article{Huang2024OpenCoderTO,
  title   = {OpenCoder: The Open Cookbook for Top-Tier Code Large Language Models},
  author  = {Huang, Siming and Cheng, Tianhao and Liu, Jason Klein and Hao, Jiaran and Song, Liuyihan and Xu, Yang
             and Yang, J. and Liu, J. H. and Zhang, Chenchen and Chai, Linzheng and Yuan, Ruifeng
             and Zhang, Zhaoxiang and Fu, Jie and Liu, Qian and Zhang, Ge and Wang, Zili and Qi, Yuan
             and Xu, Yinghui and Chu, Wei},
  journal = {arXiv preprint arXiv:2411.04905},
  year    = {2024},
  url     = {https://arxiv.org/abs/2411.04905}
}"""
COOKBOOK_BIBTEX = """@software{opencoder_cookbook,
  title  = {{OpenCoder Cookbook}: a reproducible lifecycle for code LLMs, from raw GitHub code to a released model},
  note   = {recipe {RECIPE} version {VERSION}; release key {KEY}},
  year   = {2026}
}"""


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
    base_eval: Manifest | None = None
    release_number: int = 1
    previous: PreviousRelease | None = None


@dataclass
class PreviousRelease:
    """The release an incremental retrain extends, with the manifests its card was made from."""

    release: Manifest
    inputs: dict[str, Manifest] = field(default_factory=dict)
    """role (model, tokens, data, eval, eval_base) -> that release's input manifest, where still readable"""
    pretrain: Manifest | None = None

    @property
    def version(self) -> str:
        return str(self.release.metrics.get("version") or f"release {self.number}")

    @property
    def number(self) -> int:
        n = self.release.metrics.get("release_number")
        return n if isinstance(n, int) and not isinstance(n, bool) and n >= 1 else 1


def _read(uri: str) -> Manifest | None:
    try:
        return try_read_manifest(uri)
    except (OpcError, OSError, ValueError):
        return None


def _find_stage(manifest: Manifest | None, stage: str) -> Manifest | None:
    """The first output of ``stage`` in ``manifest``'s lineage (itself included)."""
    from opc_core.lineage import lineage_chain

    if manifest is None:
        return None
    if manifest.stage == stage:
        return manifest
    try:
        rows = lineage_chain(manifest)
    except (OpcError, OSError, ValueError):
        return None
    return next((m for _, _, m, _ in rows if m is not None and m.stage == stage), None)


def previous_release_facts(previous: Manifest) -> PreviousRelease:
    """Read the previous release's input manifests (and its pretrain output, through the model's lineage)."""
    inputs = {role: m for role, ref in previous.inputs.items()
              if role in ("model", "tokens", "data", "eval", "eval_base") and (m := _read(ref.uri)) is not None}
    return PreviousRelease(release=previous, inputs=inputs, pretrain=_find_stage(inputs.get("model"), "pretrain"))


def _num(v: Any) -> str:
    """A number as JSON prints it (pass@k, shares: the reader matches them against the manifest)."""
    return json.dumps(v) if isinstance(v, int | float) and not isinstance(v, bool) else str(v)


def _count(v: Any) -> str:
    """A count with thousands separators (``1,234,567``); anything else as text."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return "" if v is None else str(v)
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return f"{v:,}" if isinstance(v, int) else f"{v:,.4g}"


def _loss(v: Any) -> str:
    return f"{v:.4f}" if isinstance(v, int | float) and not isinstance(v, bool) else ""


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else plural or word + 's'}"


def _human(n: float) -> str:
    for unit, div in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= div:
            return f"{n / div:.2f}{unit}"
    return f"{n:g}"


def _bytes(n: float) -> str:
    for unit, div in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= div:
            return f"{n / div:.2f} {unit}"
    return f"{n:g} B"


def _table(header: list[str], rows: list[list[Any]], right: set[int] | None = None) -> str:
    """A Markdown table; columns in ``right`` (numbers) are right-aligned."""
    right = right or set()
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---:" if i in right else "---" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def public_source(uri: str) -> str:
    """A raw source as a released file may name it: local paths lose everything but their last part."""
    if "://" in uri or ":" in uri.split("/", 1)[0]:
        return uri  # s3://..., hf://..., embedded:..., builtin:...
    parts = [p for p in uri.rstrip("/").split("/") if p]
    return f"local:{parts[-1] if parts else uri}"


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
        rows = [[lang, _count(c.get("natural_train", 0)), _count(c.get("train", 0)), _count(c.get("val", 0))]
                for lang, c in token_langs.items()]
        note = "The data manifest records no per-language funnel; tokens per language from the tokenize manifest:\n\n"
        return note + _table(["language", "tokens (natural train)", "tokens (train, mixed)", "tokens (val)"], rows,
                             {1, 2, 3})
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
            row.append("" if c is None else f"{_count(c['files'])} ({_bytes(c.get('bytes', 0))})")
        t = token_langs.get(lang, {})
        rows.append([*row, _count(t.get("train", 0)), _count(t.get("val", 0))])
    return _table(header, rows, set(range(1, len(header))))


def _opc_data_funnel(funnel: dict[str, Any], token_langs: dict[str, dict[str, int]]) -> str:
    steps = [[s.get("step", "?"), _count(s.get("files", "")), _bytes(s.get("bytes", 0)),
              _count(s.get("removed_files", "")), _bytes(s.get("removed_bytes", 0))] for s in funnel["steps"]]
    text = "Files and bytes remaining after each step of the data stage:\n\n"
    text += _table(["after step", "files", "bytes", "files removed", "bytes removed"], steps, {1, 2, 3, 4})
    langs = funnel.get("languages") or {}
    rows, odd = [], []
    for lang in dict.fromkeys([*langs, *token_langs]):
        f, t = langs.get(lang, {}), token_langs.get(lang, {})
        kept, train, val = f.get("kept_files", 0), t.get("train", 0), t.get("val", 0)
        if kept and not train:
            odd.append(lang)
        rows.append([lang, _count(f.get("in_files", 0)), _bytes(f.get("in_bytes", 0)), _count(kept),
                     _bytes(f.get("kept_bytes", 0)), _count(train), _count(val)])
    text += "\n\nBy language: raw files in, files kept by the data stage, tokens after the mixture:\n\n"
    text += _table(["language", "files in", "bytes in", "files kept", "bytes kept", "train tokens", "val tokens"],
                   rows, {1, 2, 3, 4, 5, 6})
    for lang in odd:
        why = ("all of its kept files are in repositories held out for validation (the split is by whole "
               "repository; see its val tokens)") if token_langs.get(lang, {}).get("val") else \
            "the mixture gives its document type no weight, so none of its files reached the token data"
        text += f"\n\n{lang}: {_plural(langs.get(lang, {}).get('kept_files', 0), 'file')} kept but 0 train tokens: {why}."
    reasons = funnel.get("reasons") or {}
    if reasons:
        top = ", ".join(f"{k} {_count(v)}" for k, v in list(reasons.items())[:12])
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


def _decoding(m: Manifest) -> str:
    t = m.config.get("temperature")
    if t is None:
        return ""
    return "greedy" if t == 0 else f"sampled (temperature {t:g}, top-p {m.config.get('top_p', 1.0):g})"


def eval_what(bench: str, v: dict[str, Any], m: Manifest) -> str:
    """What one eval row measured: "HumanEval, 3 of 164 tasks, greedy, completion mode"."""
    name, total = BENCHMARKS.get(bench, (bench, None))
    n = v.get("n_tasks")
    tasks = "" if not isinstance(n, int) else (f"{n:,} of {total:,} tasks" if total and n < total
                                                else _plural(n, "task"))
    mode = v.get("mode") or m.config.get("mode")
    return ", ".join(x for x in (name, tasks, _decoding(m), f"{mode} mode" if mode else "") if x)


def _eval_rows(facts_eval: Manifest | None, base: Manifest | None) -> list[tuple[str, Manifest, str, dict]]:
    if facts_eval is None:
        return []
    pairs = [("base", base), ("instruct", facts_eval)] if base is not None else [("", facts_eval)]
    return [(label, m, b, v) for label, m in pairs
            for b, v in sorted(m.metrics.items()) if isinstance(v, dict)]


def eval_section(manifest: Manifest | None, base: Manifest | None = None) -> str:
    """The eval table; with ``base`` (the base model's eval) a ``model`` column gives base vs instruct rows."""
    if manifest is None:
        return "This release was not evaluated (no eval stage in its lineage)."
    rows_in = _eval_rows(manifest, base)
    if not rows_in:
        return f"The eval manifest ({manifest.key}) records no benchmark results."
    pass_keys = sorted({k for *_, v in rows_in for k in v if k.startswith("pass@")},
                       key=lambda k: int(k[5:]) if k[5:].isdigit() else 10**9)
    extra = {"n_tasks": "tasks", "samples_per_task": "samples per task", "mode": "mode"}
    filled = [(label, m, b, {**v, "samples_per_task": _samples_per_task(v)}) for label, m, b, v in rows_in]
    extra = {k: lab for k, lab in extra.items() if any(v.get(k) not in (None, "") for *_, v in filled)}
    rows = []
    for label, m, b, v in filled:
        row = [b, eval_what(b, v, m), *[_num(v[k]) if k in v else "" for k in pass_keys],
               *[_count(v.get(k, "")) for k in extra]]
        rows.append([label, *row] if base is not None else row)
    header = ["benchmark", "what was measured", *pass_keys, *extra.values()]
    if base is not None:
        header = ["model", *header]
    off = 1 if base is not None else 0
    right = {off + 2 + i for i in range(len(pass_keys) + 2)}
    keys = " and ".join(f"`{m.stage}` `{m.key}`" for m in ([base, manifest] if base is not None else [manifest]))
    return (_table(header, rows, right)
            + f"\n\npass@k is the unbiased estimator over the samples per task (a fraction of tasks, 0–1), as "
            f"recorded in the eval manifest{'s' if base is not None else ''} {keys}.")


def _training_manifests(facts: CardFacts) -> list[Manifest]:
    out, seen = [], set()
    for _, _, m, _ in facts.lineage:
        if m is not None and "tokens_seen" in m.metrics and (m.stage, m.key) not in seen:
            seen.add((m.stage, m.key))
            out.append(m)
    return out[::-1]  # lineage walks from the release down: print in training order


def _schedule(c: dict[str, Any]) -> str:
    steps, warm = c.get("max_steps"), c.get("warmup_steps", 0)
    if c.get("schedule", "wsd") == "wsd" and isinstance(steps, int):
        decay = round(steps * c.get("decay_fraction", 0.2))
        if c.get("decay_start") is not None:
            decay = min(decay, steps - c["decay_start"])
        stable = steps - warm - decay
        return (f"WSD: {_plural(warm, 'warmup step')}, {_plural(stable, 'stable step')}, "
                f"{_plural(decay, 'decay step')} ({c.get('decay_shape', '1-sqrt')} to "
                f"{c.get('min_lr_ratio', 0.1):g} x peak)")
    return f"{c.get('schedule', '?')}: {_plural(int(warm or 0), 'warmup step')}" + (
        f" of {steps:,}" if isinstance(steps, int) else "")


def _hardware(c: dict[str, Any]) -> str:
    device = {"auto": "CUDA if present, else CPU"}.get(c.get("device", "auto"), c.get("device", "auto"))
    backend = c.get("backend", "torch")
    zero = f", ZeRO stage {c.get('zero_stage', 0)}" if backend == "deepspeed" else ""
    return f"{device}, {_plural(c.get('nproc', 1), 'process', 'processes')}, {backend}{zero}"


def _precision(c: dict[str, Any]) -> str:
    return {"cpu": "fp32", "cuda": "bf16 autocast, fp32 master weights"}.get(
        c.get("device", "auto"), "bf16 autocast on CUDA (fp32 master weights), fp32 on CPU")


def training_procedure_section(facts: CardFacts) -> str:
    """One column per training stage (pretrain, anneal, sft...), rows from each stage's resolved config."""
    ms = _training_manifests(facts)
    if not ms:
        return "No training manifest in the lineage records tokens_seen."
    rows: list[list[str]] = []

    def row(label: str, fn) -> None:
        rows.append([label, *[fn(m.config, m.metrics) for m in ms]])

    row("optimizer", lambda c, _: f"AdamW (betas {c.get('beta1', 0.9):g}, {c.get('beta2', 0.95):g})")
    row("peak learning rate", lambda c, _: f"{c['lr']:g}" if "lr" in c else "")
    row("schedule", lambda c, _: _schedule(c))
    row("batch x sequence", lambda c, _: (
        f"{c.get('micro_batch_size', 0) * c.get('grad_accum_steps', 1) * c.get('nproc', 1):,} x "
        f"{c.get('seq_len', 0):,} = {c.get('micro_batch_size', 0) * c.get('grad_accum_steps', 1) * c.get('nproc', 1) * c.get('seq_len', 0):,} tokens per step"
        if "seq_len" in c else ""))
    row("steps", lambda _, mt: _count(mt.get("steps", "")))
    row("tokens seen", lambda _, mt: f"{_count(mt.get('tokens_seen'))} ({_human(mt.get('tokens_seen') or 0)})")
    row("weight decay", lambda c, _: f"{c['weight_decay']:g}" if "weight_decay" in c else "")
    row("gradient clipping", lambda c, _: f"global norm {c['grad_clip']:g}" if "grad_clip" in c else "")
    row("precision", lambda c, _: _precision(c))
    row("hardware", lambda c, _: _hardware(c))
    row("final validation loss (nats/token)", lambda _, mt: _loss(mt.get("final_val_loss")))
    row("unigram baseline validation loss", lambda _, mt: _loss(mt.get("unigram_val_loss")))
    header = ["", *[f"{m.stage} `{m.key}`" for m in ms]]
    tm = facts.tokens.metrics
    repos = tm.get("val_repos")
    held = f"holds out {_plural(repos, 'whole repository', 'whole repositories')}" if isinstance(repos, int) else \
        "holds out whole repositories"
    return (_table(header, rows)
            + "\n\nWall time is not on the card: it differs between two runs of the same recipe, whose releases are "
            "byte-identical; `opc status` and the run report show it.\n\n"
            + f"Token data (`tokenize` `{facts.tokens.key}`): {_count(tm.get('train_tokens', '?'))} training and "
            f"{_count(tm.get('val_tokens', '?'))} validation tokens; the validation split {held}.")


def training_section(facts: CardFacts) -> str:
    """Kept for callers of the old card: the training procedure table."""
    return training_procedure_section(facts)


def mixture_section(tokens: Manifest) -> str:
    sources = tokens.metrics.get("sources", {})
    rows = [[n, _num(s.get("weight")), f"{s.get('target_share', 0):.3f}", f"{s.get('achieved_share', 0):.3f}",
             _count(s.get("natural_train_tokens")), _count(s.get("train_tokens")), f"{s.get('multiplier', 0):.3f}"]
            for n, s in sources.items()]
    return _table(["source", "weight", "target share", "achieved share", "natural tokens", "train tokens",
                   "multiplier"], rows, {1, 2, 3, 4, 5, 6})


def web_text_line(tokens: Manifest) -> str:
    """The code-related web text the recall stage contributed (mixture sources reading a ``recall`` input)."""
    roles = {r for r, stage in (tokens.config.get("extra_inputs") or {}).items() if stage == "recall"}
    names = [m["name"] for m in tokens.config.get("mixture", []) if m.get("input") in roles]
    if not names:
        return "Code-related web text: none (the mixture reads no `recall` output).\n\n"
    sources = tokens.metrics.get("sources", {})
    train = sum(int(sources.get(n, {}).get("train_tokens", 0)) for n in names)
    val = sum(int(sources.get(n, {}).get("val_tokens", 0)) for n in names)
    keys = ", ".join(f"`{tokens.inputs[r].key}`" for r in sorted(roles) if r in tokens.inputs)
    return (f"Code-related web text (recall stage {keys}; mixture source{'s' if len(names) > 1 else ''} "
            f"{', '.join(names)}): {_count(train)} training tokens, {_count(val)} validation tokens.\n\n")


def data_settings_section(data: Manifest, tokens: Manifest | None = None) -> str:
    c = data.counts
    counts = (f"Records: {_count(c.records_in)} in = {_count(c.kept)} kept + {_count(c.rejected)} rejected + "
              f"{_count(c.quarantined)} quarantined (data stage `{data.key}`).\n\n") if c else ""
    if tokens is not None:
        counts += web_text_line(tokens)
    settings = yaml.safe_dump(data.config, sort_keys=True, default_flow_style=False).strip() if data.config else "{}"
    return (counts + "<details>\n<summary>Data stage settings (dedup, filters, sampling) as resolved in its "
            "manifest</summary>\n\n```yaml\n" + settings + "\n```\n\n</details>")


NOT_RECORDED = "not recorded"


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _number(v: Any) -> float | None:
    return v if isinstance(v, int | float) and not isinstance(v, bool) else None


def _delta(before: Any, after: Any, fmt=_num) -> str:
    """``after - before`` with its sign (``+0.0122``, ``-3``, ``0``); float noise rounded away."""
    a, b = _number(before), _number(after)
    if a is None or b is None:
        return ""
    d = round(b - a, 10)
    if d == 0:
        return "0"
    if isinstance(a, int) and isinstance(b, int):
        return f"{d:+,}"
    return "+" + fmt(d) if d > 0 else fmt(d)


def _ref(m: Manifest | None) -> str:
    return f"`{m.stage}` `{m.key}`" if m is not None else NOT_RECORDED


def _current_pretrain(facts: CardFacts) -> Manifest | None:
    if facts.model.stage == "pretrain":
        return facts.model
    return next((m for _, _, m, _ in facts.lineage if m is not None and m.stage == "pretrain"), None)


def _or_missing(v: Any, fmt=_count) -> str:
    return NOT_RECORDED if v is None else fmt(v)


def _data_rows(data: Manifest, prev: Manifest | None) -> list[list[str]]:
    if prev is not None and prev.key == data.key:
        return [["data", "no new data: this release reads the previous release's data output", _ref(data)]]
    inc = data.metrics.get("incremental")
    c = data.counts
    if not isinstance(inc, dict):
        recs = (f"{_count(c.records_in)} records in, {_count(c.kept)} kept" if c else "record counts not recorded")
        return [["data", f"rebuilt in full, no incremental record ({recs})", _ref(data)]]
    new, skipped, total = (_int(inc.get(k)) for k in ("units_new", "units_skipped", "units_total"))
    units = NOT_RECORDED if new is None else _plural(new, "new source unit")
    if skipped is not None:
        units += f"; {_count(skipped)} already in an earlier version (skipped)"
    if total is not None:
        units += f"; {_count(total)} in all"
    records = (f"{_count(c.records_in)} in: {_count(c.kept)} kept, {_count(c.rejected)} rejected, "
               f"{_count(c.quarantined)} quarantined" if c else NOT_RECORDED)
    exact, fuzzy, index = (_int(inc.get(k)) for k in ("exact_removed", "fuzzy_removed", "index_records"))
    dups = f"{_or_missing(exact)} exact, {_or_missing(fuzzy)} near (fuzzy)"
    if index is not None:
        dups += f", against an index of {_plural(index, 'earlier record')}"
    return [["new source units", units, _ref(data)], ["new records (files)", records, _ref(data)],
            ["removed as duplicates of earlier versions", dups, _ref(data)]]


def _token_rows(tokens: Manifest, prev: Manifest | None) -> list[list[str]]:
    if prev is not None and prev.key == tokens.key:
        return [["training tokens", "no new tokens: this release reads the previous release's tokenize output",
                 _ref(tokens)]]
    inc = tokens.metrics.get("incremental")
    now = tokens.metrics.get("train_tokens")
    if not isinstance(inc, dict):
        before = prev.metrics.get("train_tokens") if prev is not None else None
        text = f"rebuilt in full, no incremental record: {_or_missing(before)} -> {_or_missing(now)}"
        return [["training tokens", text + (f" ({_delta(before, now)})" if _delta(before, now) else ""),
                 _ref(tokens)]]
    new = inc.get("new_train_tokens", now)
    before, total = inc.get("previous_train_tokens_total"), inc.get("train_tokens_total")
    rows = [["new training tokens", _or_missing(new), _ref(tokens)],
            ["training tokens in all", f"{_or_missing(before)} -> {_or_missing(total)}"
             + (f" ({_delta(before, total)})" if _delta(before, total) else ""), _ref(tokens)]]
    if inc.get("tokenizer_from"):
        rows.append(["tokenizer", f"reused from `tokenize` `{inc['tokenizer_from']}`", _ref(tokens)])
    return rows


def _training_rows(facts: CardFacts, prev: PreviousRelease) -> list[list[str]]:
    rows = []
    prev_model = prev.inputs.get("model")
    if facts.model.stage != "pretrain":
        rows.append(["released model", f"{_ref(prev_model)} -> {_ref(facts.model)}", _ref(facts.model)])
    now, before = _current_pretrain(facts), prev.pretrain
    if now is None:
        return [*rows, ["training", NOT_RECORDED + " (no pretrain output in this release's lineage)", ""]]
    if before is not None and before.key == now.key:
        return [*rows, ["training", "not retrained: the same pretrain output as the previous release", _ref(now)]]
    inc = now.metrics.get("incremental")
    inc = inc if isinstance(inc, dict) else {}
    how = (f"continued from `pretrain` `{inc['init_from']}`'s weights" if inc.get("init_from") else
           "trained from scratch (no incremental record)")
    steps, seen = now.metrics.get("steps"), now.metrics.get("tokens_seen")
    rows.append(["training", f"{how}; {_or_missing(steps)} steps, {_or_missing(seen)} tokens seen", _ref(now)])
    loss_before = before.metrics.get("final_val_loss") if before is not None else None
    if _number(loss_before) is None:
        loss_before = inc.get("previous_final_val_loss")
    loss_now = now.metrics.get("final_val_loss")
    loss = f"{_loss(loss_before) or NOT_RECORDED} -> {_loss(loss_now) or NOT_RECORDED}"
    if _delta(loss_before, loss_now):
        loss += f" ({_delta(loss_before, loss_now, _loss)})"
    rows.append(["validation loss (nats/token)", loss, _ref(now)])
    return rows


def _pass_key_order(k: str) -> tuple[int, str]:
    return (int(k[5:]) if k[5:].isdigit() else 10**9, k)


def eval_delta_section(facts: CardFacts, prev: PreviousRelease) -> str:
    """Previous release's score -> this one's per benchmark and metric (base and instruct rows when both)."""
    has_base = facts.base_eval is not None or "eval_base" in prev.inputs or "eval_base" in prev.release.inputs
    pairs = [("base", prev.inputs.get("eval_base"), facts.base_eval)] if has_base else []
    pairs.append(("instruct" if has_base else "", prev.inputs.get("eval"), facts.eval))
    if all(b is None and a is None for _, b, a in pairs):
        return "Eval: neither release was evaluated."
    rows = []
    for label, before, after in pairs:
        mb = before.metrics if before is not None else {}
        ma = after.metrics if after is not None else {}
        for bench in sorted({b for m in (mb, ma) for b, v in m.items() if isinstance(v, dict)}):
            vb, va = mb.get(bench) if isinstance(mb.get(bench), dict) else {}, \
                ma.get(bench) if isinstance(ma.get(bench), dict) else {}
            for k in sorted({k for v in (vb, va) for k in v if k.startswith("pass@")}, key=_pass_key_order):
                row = [bench, k, _num(vb[k]) if k in vb else NOT_RECORDED, _num(va[k]) if k in va else NOT_RECORDED,
                       _delta(vb.get(k), va.get(k))]
                rows.append([label, *row] if has_base else row)
        if not mb and not ma:
            rows.append([label, NOT_RECORDED, "", "", "", ""] if has_base else [NOT_RECORDED, "", "", "", ""])
    header = ["benchmark", "metric", f"{prev.version} (previous)", f"{facts.version} (this release)", "change"]
    if has_base:
        header = ["model", *header]
    off = 1 if has_base else 0
    keys = " and ".join(f"{_ref(b)} -> {_ref(a)}" for _, b, a in pairs)
    return ("Eval, previous release -> this one (pass@k as recorded; change = this release minus the previous):\n\n"
            + _table(header, rows, {off + 2, off + 3, off + 4}) + f"\n\nEval manifests: {keys}.")


def changes_section(facts: CardFacts) -> str:
    """What changed since the previous release (an incremental retrain): deltas read only from manifests."""
    prev = facts.previous
    if prev is None:
        return ""
    rows = [*_data_rows(facts.data, prev.inputs.get("data")), *_token_rows(facts.tokens, prev.inputs.get("tokens")),
            *_training_rows(facts, prev)]
    intro = (f"Release {facts.release_number} of {facts.name}, retrained incrementally on top of release "
             f"{prev.number} ({prev.version}, release key `{prev.release.key}`), which stays published as "
             f"{facts.name} {prev.version}. Every number below is read from the manifests of the two releases; "
             f"\"{NOT_RECORDED}\" means a manifest does not say.")
    return (intro + "\n\n" + _table(["", "change", "recorded in"], rows) + "\n\n"
            + eval_delta_section(facts, prev))


def lineage_section(facts: CardFacts) -> str:
    rows, seen, sources = [], set(), []
    for _, role, m, uri in facts.lineage:
        if m is None:
            if role == "source" and public_source(uri) not in sources:
                sources.append(public_source(uri))
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
    rows = [[name, _count(v.get("repositories", "")), _count(v.get("files", ""))] for name, v in sorted(lic.items())]
    table = _table(["licence", "repositories", "files"], rows, {1, 2}) if rows else \
        "(attribution.json lists no licences)"
    return (f"Model weights: **{facts.license}**. Training data licences (from the data stage's "
            f"`attribution.json`, shipped with this release):\n\n{table}")


def is_instruct(facts: CardFacts) -> bool:
    return facts.model.stage.startswith("sft")


def how_to_use_section(facts: CardFacts) -> str:
    """A completion example and a chat-template example; the model's own format first."""
    load = f"""from transformers import AutoModelForCausalLM, AutoTokenizer

path = "{facts.name}"  # this folder, or "<org>/{facts.name}" where it was published on the Hub
tokenizer = AutoTokenizer.from_pretrained(path)
model = AutoModelForCausalLM.from_pretrained(path)
"""
    completion = """prompt = 'def fibonacci(n):\\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\\n'
inputs = tokenizer(prompt, return_tensors="pt")
out = model.generate(**inputs, max_new_tokens=64, do_sample=False)
print(tokenizer.decode(out[0], skip_special_tokens=True))"""
    chat = """messages = [{"role": "user", "content": "Write a Python function that reverses a string."}]
inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                       return_dict=True)
out = model.generate(**inputs, max_new_tokens=128, do_sample=False)
print(tokenizer.decode(out[0][inputs["input_ids"].shape[1]:], skip_special_tokens=True))"""
    if is_instruct(facts):
        blocks = [("Chat (the format this instruct model was tuned on)", load + "\n" + chat),
                  ("Completion", completion)]
    else:
        blocks = [("Completion (the format this base model was trained on)", load + "\n" + completion),
                  ("Chat template (ChatML, shipped with the tokenizer; a base model was not tuned to follow it)",
                   chat)]
    return "With `transformers` (the folder loads as `LlamaForCausalLM`):\n\n" + "\n\n".join(
        f"**{title}**\n\n```python\n{code}\n```" for title, code in blocks)


def citation_section(facts: CardFacts) -> str:
    ours = (COOKBOOK_BIBTEX.replace("{RECIPE}", str(facts.recipe.get("name", "")))
            .replace("{VERSION}", str(facts.recipe.get("version", ""))).replace("{KEY}", facts.release_key))
    return ("The method this model follows (the OpenCoder paper):\n\n```bibtex\n" + OPENCODER_BIBTEX
            + "\n```\n\nThe pipeline that trained it (this cookbook):\n\n```bibtex\n" + ours + "\n```")


def model_index(facts: CardFacts) -> list[dict[str, Any]]:
    """The Hugging Face ``model-index``: one result per benchmark (and model, with base vs instruct rows)."""
    results = []
    for label, m, bench, v in _eval_rows(facts.eval, facts.base_eval):
        name = eval_what(bench, v, m) + (f" ({label} model)" if label else "")
        metrics = [{"type": k, "value": v[k], "name": k} for k in sorted(v) if k.startswith("pass@")]
        if metrics:
            results.append({"task": {"type": "text-generation"},
                            "dataset": {"type": bench, "name": name}, "metrics": metrics})
    return [{"name": facts.name, "results": results}] if results else []


def front_matter(facts: CardFacts) -> dict[str, Any]:
    sources = []
    for _, role, m, uri in facts.lineage:
        if m is None and role == "source" and public_source(uri) not in sources:
            sources.append(public_source(uri))
    front: dict[str, Any] = {
        "license": facts.license, "library_name": "transformers", "pipeline_tag": "text-generation",
        "language": ["en", "code"], "datasets": sources,
        "tags": ["code", "llama", "opencoder-cookbook", "instruct" if is_instruct(facts) else "base"],
    }
    index = model_index(facts)
    if index:
        front["model-index"] = index
    front["opc"] = {"name": facts.name, "version": facts.version, "release_key": facts.release_key}
    if facts.previous is not None:
        front["opc"]["release_number"] = facts.release_number
        front["opc"]["previous_release"] = {"version": facts.previous.version,
                                            "release_key": facts.previous.release.key}
    return front


def render_card(facts: CardFacts) -> str:
    mc = facts.model_config
    recipe = facts.recipe
    heads = f"{mc['n_heads']} heads / {mc['n_kv_heads']} KV heads"
    limits = "\n".join(f"- {x}" for x in facts.limitations)
    kind = ("This is the **instruct** model: the base model tuned on instructions (SFT), prompted through the "
            "tokenizer's chat template." if is_instruct(facts) else
            "This is the **base** model: pretrained only (no instruction tuning), prompted by code completion.")
    parts = [
        "---\n" + yaml.safe_dump(front_matter(facts), sort_keys=False, allow_unicode=True).strip() + "\n---",
        f"# {facts.name} {facts.version}",
        kind,
        f"A {_human(facts.model_params)}-parameter LLaMA-style code model (decoder only: RMSNorm, RoPE theta "
        f"{mc['rope_theta']:g}, SwiGLU, {heads}; {mc['n_layers']} layers, hidden {mc['dim']:,}, FFN "
        f"{mc['ffn_dim']:,}, context {mc['max_seq_len']:,}, vocabulary {mc['vocab_size']:,}), trained from scratch "
        f"by the OpenCoder Cookbook after the OpenCoder paper (arXiv 2411.04905). Released from "
        f"`{facts.model.stage}/{facts.model.key}`; release key `{facts.release_key}`. The tokenizer carries the "
        "ChatML chat template (`<|im_start|>` / `<|im_end|>`).",
        *([f"## What changed since {facts.previous.version}", changes_section(facts)] if facts.previous else []),
        "## How to use", how_to_use_section(facts),
        "## Evaluation", eval_section(facts.eval, facts.base_eval),
        "## Training procedure", training_procedure_section(facts),
        "## Recipe",
        f"`{recipe.get('name')}` version {recipe.get('version')} (seed {recipe.get('seed')}): "
        f"{recipe.get('description', '')}\n\nPipeline: {' -> '.join(recipe.get('pipeline', []))}",
        "## Training data: funnel by language", funnel_section(facts.data.metrics.get("funnel"),
                                                               facts.tokens.metrics.get("languages", {})),
        "## Pretraining mixture", mixture_section(facts.tokens),
        "## Data stage records and settings", data_settings_section(facts.data, facts.tokens),
        "## Intended use and limits", facts.intended_use + "\n\n" + limits,
        "## License", license_section(facts),
        "## Lineage",
        "Content keys of every upstream output (`opc lineage <key>` walks the same chain); a weight file traces "
        "back through them to the raw dumps.\n\n" + lineage_section(facts),
        "## Verify",
        "`sha256sum -c SHA256SUMS` inside this directory, or `opc release verify <dir|uri>` (checksums, "
        "transformers load, logits against the cookbook's own model, generation).",
        "## Citation", citation_section(facts),
    ]
    return "\n\n".join(parts) + "\n"
