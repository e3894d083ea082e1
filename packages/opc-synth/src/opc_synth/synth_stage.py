"""The ``synth`` stage: teacher-generated sets, validated by execution, deduplicated and decontaminated.

    data/kept ─▶ seeds (opc_synth.seeds) ─▶ generator prompts (templates/*.txt)
              ─▶ teacher (opc_eval backend behind the response cache) ─▶ answers
              ─▶ parse (### sections) ─▶ check: exec (code + tests in opc_sandbox) | syntax (Python compiles)
              ─▶ exact + MinHash dedup per set (opc_data.dedup) ─▶ decontamination (opc_data.decontamination)
              ─▶ kept/<set>/part-*.parquet      pretraining-style sets (hq_snippets, textbooks)
                 instruct/<set>/part-*.parquet  instruction sets (messages + provenance)
                 rejected/part-*.parquet        set, repo_name, path, reason, detail
                 report/synth.html              the funnel and the rejection reasons

Counts: in = prompts sent to the teacher (one sample each); kept = rows written to a set; rejected =
every other prompt, with its reason (no_response, parse_error, format, api_not_quoted,
language_mismatch, syntax_error, no_test, test_failed, timeout, dedup:exact, dedup:fuzzy,
decontamination:<benchmark>/<task>). ``kept/`` as a whole reads like the data stage's kept/ (tokenize,
anneal); each set is addressable alone (``metrics.sets``). An empty set is a warning, not an error.

Resume: answers are cached as they arrive (``opc_synth.response_cache``), so a killed run rerun with
the same recipe sends only the prompts that were never answered; parsing and checks are redone.
Determinism: same seeds, recipe seed and answers -> the same bytes (verdicts depend only on whether a
program finishes within its timeout). It does NOT rewrite or repair answers.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from opc_core import storage
from opc_core.manifest import Counts
from opc_core.stage import StageContext, StageResult, StageSpec
from opc_synth.config import SynthConfig
from opc_synth.teacher import teacher_inputs


def _inputs(cfg: SynthConfig) -> dict[str, str]:
    """Seed roles are the stage names (``data``, ``algorithmic``); the teacher adds ``model``/``tokens``."""
    return {**{s: s for s in cfg.seed_stages}, "data": "data", **teacher_inputs(cfg.teacher)}


def _external(cfg: SynthConfig) -> str:
    """Files outside the workdir that change the output: the responses file(s) and benchmark files."""
    import os

    from opc_synth.teacher import file_sha256

    parts = []
    t = cfg.teacher
    if t.kind == "responses":
        parts.append(f"responses:{file_sha256(t.responses_path) if t.responses_path and os.path.exists(t.responses_path) else 'missing'}")
        if t.requests_path and os.path.exists(t.requests_path):
            parts.append(f"requests:{file_sha256(t.requests_path)}")
    if t.kind == "openai":
        parts.append(f"openai:{t.model}")
    if t.model_dir:
        parts.append(f"model_dir:{t.model_dir}")
    for b in cfg.decontamination.benchmarks:
        if os.path.exists(b.uri):
            st = os.stat(b.uri)
            parts.append(f"{b.uri}:{st.st_size}:{int(st.st_mtime)}")
    pkgs = sorted({d for g in cfg.generators if g.name == "package_instruct" for d in (g.distributions or [])})
    if pkgs:
        from importlib import metadata

        parts.append("docs:" + ",".join(f"{p}=={_version(metadata, p)}" for p in pkgs))
    return "|".join(parts)


def _version(metadata, name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "missing"


@dataclass
class _Item:
    set: str
    index: int
    seed: Any
    extras: dict[str, str]
    request: Any
    parsed: Any = None
    reason: str | None = None
    detail: str = ""
    exec_status: str = "not_run"

    @property
    def path(self) -> str:
        return f"{self.seed.path}#{self.set}/{self.index}"


DEFAULT_DOCS = ["requests", "click"]


def plan(cfg: SynthConfig, data_uri: str | dict[str, str], seed: int, log=None) -> tuple[list[_Item], dict[str, Any]]:
    """Every prompt the stage will send, in order (also how a team exports prompts for a batch job).

    ``data_uri``: the data stage's output, or ``{stage: output}`` for every stage in ``seed_stages``.
    """
    from opc_synth.generators import GENERATORS, SeedPool
    from opc_synth.seeds import code_seeds, doc_seeds, file_seeds
    from opc_synth.teacher import Request

    docs = sorted({d for g in cfg.generators if g.name == "package_instruct" for d in (g.distributions or DEFAULT_DOCS)})
    uris = data_uri if isinstance(data_uri, dict) else {"data": data_uri}
    code_uris = [uris[s] for s in cfg.seed_stages if s in uris]

    def all_code_seeds() -> list:
        seen, out = set(), []
        for u in code_uris:  # seed stages in order; a file both selected and in data is seeded once
            for x in code_seeds(u, cfg.seed_languages, cfg.seed_max_chars, seed):
                if (x.repo_name, x.path, x.name) not in seen:
                    seen.add((x.repo_name, x.path, x.name))
                    out.append(x)
        return out

    pool = SeedPool({
        "code": all_code_seeds,
        "files": lambda: file_seeds(uris["data"], cfg.seed_max_chars, seed),
        "docs": lambda: doc_seeds(docs, cfg.seed_max_chars, seed),
    })
    items: list[_Item] = []
    gens = {}
    for gcfg in cfg.generators:
        gen = GENERATORS[gcfg.name](cfg.diverse.model_dump() if gcfg.name == "diverse_instruct" else None)
        gens[gcfg.name] = gen
        rng = random.Random(f"{seed}:{gcfg.name}")
        picked = gen.pick(pool, gcfg.count, rng)
        if len(picked) < gcfg.count and log is not None:
            log.warning("synth %s: %d seeds for %d requested prompts", gcfg.name, len(picked), gcfg.count)
        for i, (s, extras) in enumerate(picked):
            req = Request(f"{gcfg.name}/{i}", (("user", gen.prompt(s, extras)),))
            items.append(_Item(gcfg.name, i, s, extras, req))
    return items, gens


def run(cfg: SynthConfig, ctx: StageContext) -> StageResult:
    from opc_core.progress import track
    from opc_synth.generators import Parsed, Rejected
    from opc_synth.teacher import Teacher

    items, gens = plan(cfg, {s: ctx.input_uri(s) for s in {*cfg.seed_stages, "data"}}, ctx.seed, ctx.log)
    kinds = {name: g.kind for name, g in gens.items()}

    # 1. answers (cached)
    teacher = Teacher(cfg.teacher, ctx)
    progress = track(range(len(items)), "synth: teacher", total=len(items))
    it = iter(progress)

    def tick() -> None:
        next(it, None)

    try:
        answers = teacher.answer([x.request for x in items], on_done=tick)
    finally:
        list(it)
        teacher.close()
    funnel: dict[str, Counter[str]] = defaultdict(Counter)
    # 2. parse
    for x, answer in zip(items, answers, strict=True):
        funnel[x.set]["generated"] += 1
        if not answer or not answer.strip():
            x.reason = "no_response"
            continue
        funnel[x.set]["answered"] += 1
        parsed = gens[x.set].parse(answer, x.seed, x.extras)
        if isinstance(parsed, Rejected):
            x.reason, x.detail = parsed.reason, parsed.detail
            continue
        assert isinstance(parsed, Parsed)
        if len(parsed.text().strip()) < cfg.min_chars:
            x.reason, x.detail = "format", f"shorter than {cfg.min_chars} characters"
            continue
        x.parsed = parsed
        funnel[x.set]["parsed"] += 1
    # 3. checks: execution for code with tests, compilation for the rest
    _check(cfg, items, gens, funnel)
    # 4. dedup and decontamination, per set
    _dedup(cfg, items)
    for x in items:
        if x.reason is None:
            funnel[x.set]["deduped"] += 1
    _decontaminate(cfg, items)
    for x in items:
        if x.reason is None:
            funnel[x.set]["decontaminated"] += 1
    # 5. write
    return _write(cfg, ctx, items, kinds, funnel, teacher)


def _check(cfg: SynthConfig, items: list[_Item], gens: dict, funnel) -> None:
    from opc_synth.parsing import python_compiles
    from opc_synth.validate import Sample, validate

    runnable = [x for x in items if x.reason is None and gens[x.set].check == "exec"]
    from opc_sandbox import Limits

    limits = Limits(timeout_s=cfg.exec.timeout_s, memory_mb=cfg.exec.memory_mb)
    verdicts = validate([Sample(x.path, x.parsed.code, x.parsed.tests) for x in runnable],
                        timeout_s=cfg.exec.timeout_s, workers=cfg.exec.workers, limits=limits) if runnable else []
    for x, v in zip(runnable, verdicts, strict=True):
        if v.reason not in ("no_test", "syntax_error", "malformed"):
            funnel[x.set]["executed"] += 1
        if v.passed:
            x.exec_status = "passed"
            funnel[x.set]["passed"] += 1
        else:
            x.reason, x.detail = v.reason, v.detail
    for x in items:
        if x.reason is not None or gens[x.set].check != "syntax":
            continue
        for block in x.parsed.python_blocks:
            err = python_compiles(block)
            if err:
                x.reason, x.detail = "syntax_error", err
                break
        if x.reason is None:
            x.exec_status = "compiled" if x.parsed.python_blocks else "not_run"
            funnel[x.set]["executed"] += 1
            funnel[x.set]["passed"] += 1


def _dedup(cfg: SynthConfig, items: list[_Item]) -> None:
    """Exact + MinHash dedup (opc_data.dedup) inside each set; the first sample of a group is kept."""
    if not cfg.dedup.enabled:
        return
    from opc_data.dedup import DedupConfig, deduplicate

    dcfg = DedupConfig(num_perm=cfg.dedup.num_perm, bands=cfg.dedup.bands, rows=cfg.dedup.rows,
                       verify=True, verify_threshold=cfg.dedup.verify_threshold)
    by_set: dict[str, list[_Item]] = defaultdict(list)
    for x in items:
        if x.reason is None:
            by_set[x.set].append(x)
    for members in by_set.values():
        # no stars or dates: the keep rank falls back to (repo_name, path), so the first sample of a
        # group (lowest index, zero-padded into the path) is the one kept
        records = [{"repo_name": "synth", "path": f"{i:09d}", "content": x.parsed.text()} for i, x in enumerate(members)]
        result = deduplicate(records, dcfg)
        for x, row in zip(members, result.rows, strict=True):
            if not row["keep"]:
                x.reason = f"dedup:{row['dup_kind']}"
                x.detail = f"duplicate of {members[int(row['duplicate_of_path'])].path}"


def _decontaminate(cfg: SynthConfig, items: list[_Item]) -> None:
    if not cfg.decontamination.enabled:
        return
    from opc_data.decontamination import Decontaminator

    dec = Decontaminator(cfg.decontamination)
    for x in items:
        if x.reason is None:
            reason = dec.reason(x.parsed.text(), {"repo_name": x.seed.repo_name, "path": x.path})
            if reason:
                x.reason, x.detail = reason, "matches an evaluation item"


def _write(cfg: SynthConfig, ctx: StageContext, items: list[_Item], kinds: dict[str, str], funnel, teacher) -> StageResult:
    from opc_core.dataset import ShardWriter
    from opc_synth.schemas import INSTRUCT_SCHEMA, PRETRAIN_SCHEMA, REJECTED_SCHEMA
    from opc_synth.synth_report import render

    sets: dict[str, Any] = {}
    reasons: dict[str, Counter[str]] = {name: Counter() for name in kinds}
    kept_total = 0
    for name, kind in kinds.items():
        sub = f"kept/{name}" if kind == "pretrain" else f"instruct/{name}"
        schema = PRETRAIN_SCHEMA if kind == "pretrain" else INSTRUCT_SCHEMA
        rows = 0
        with ShardWriter(storage.join(ctx.output_uri, sub), schema, cfg.records_per_shard) as w:
            for x in items:
                if x.set != name or x.reason is not None:
                    continue
                p = x.parsed
                prov = {"generator": name, "teacher": teacher.name, "tests": p.tests, "exec_status": x.exec_status}
                if kind == "pretrain":
                    w.write({"content": p.content, "repo_name": x.seed.repo_name, "path": x.path, "doc_type": "synthetic",
                             "program_lang": p.program_lang, **prov})
                else:
                    w.write({"messages": p.messages, "repo_name": x.seed.repo_name, "path": x.path,
                             "program_lang": p.program_lang, **prov})
                rows += 1
        if rows == 0:
            ctx.log.warning("synth %s: no sample survived (%s)", name,
                            ", ".join(f"{r} {n}" for r, n in Counter(x.reason for x in items if x.set == name).most_common()) or "no prompts")
        sets[name] = {"path": sub, "kind": kind, "rows": rows}
        kept_total += rows
    with ShardWriter(storage.join(ctx.output_uri, "rejected"), REJECTED_SCHEMA, cfg.records_per_shard) as w:
        for x in items:
            if x.reason is not None:
                reasons[x.set][x.reason.split("/")[0] if x.reason.startswith("decontamination") else x.reason] += 1
                w.write({"set": x.set, "repo_name": x.seed.repo_name, "path": x.path, "reason": x.reason,
                         "detail": x.detail[:200]})
    funnel_out = {name: {s: funnel[name].get(s, 0) for s in
                         ("generated", "answered", "parsed", "executed", "passed", "deduped", "decontaminated")}
                  for name in kinds}
    reasons_out = {name: dict(sorted(c.items())) for name, c in reasons.items()}
    storage.write_text_atomic(storage.join(ctx.output_uri, "report", "synth.html"),
                              render(funnel_out, reasons_out, teacher.name, ctx.recipe_name))
    metrics = {"sets": sets, "funnel": funnel_out, "rejections": reasons_out, "teacher": teacher.name,
               "requests": {"total": teacher.stats["requests"], "cache_hits": teacher.stats["cache_hits"],
                            "sent": teacher.stats["sent"]}}
    summary = ", ".join(f"{n} {s['rows']}" for n, s in sets.items())
    return StageResult(counts=Counts(**{"in": len(items)}, kept=kept_total, rejected=len(items) - kept_total),
                       metrics=metrics, summary=f"kept {summary} (of {len(items)} prompts)")


STAGE = StageSpec(
    name="synth",
    config_model=SynthConfig,
    run=run,
    inputs=_inputs,
    # the teacher's backends (opc_eval, and our model code for the local one), the sandbox, and opc-data's
    # dedup + decontamination compute what is kept
    code_modules=("opc_synth", "opc_sandbox", "opc_eval", "opc_data.dedup", "opc_data.decontamination",
                  "opc_data.exact_dedup", "opc_data.fuzzy_dedup", "opc_data.lsh", "opc_data.minhash",
                  "opc_data.shingles", "opc_train.generation", "opc_train.model", "opc_train.checkpoint",
                  "opc_train.tokenizer", "opc_core.chat_template"),
    external_fingerprint=_external,
    description="Teacher-generated code sets (snippets, textbooks, instruct), execution-validated, deduped, decontaminated.",
)
