"""The ``eval`` and ``eval_base`` stages: generate with a backend, score in the sandbox, report pass@k.

``eval_base`` is the base model (pretrain or anneal) in completion mode; ``eval`` the instruct model (sft2)
in chat mode through the ChatML template. Same code, two names, two recipe sections.

    inputs: model <- config.model_stage (pretrain by default), tokens <- tokenize (the tokenizer/)
    for each benchmark in the config:
        tasks (limit / task_ids) ─▶ prompts (completion or chat) ─▶ backend ─▶ postprocess ─▶ samples
        samples ─▶ opc_eval.scoring (sandbox pool) ─▶ results + pass@k
    outputs: samples.jsonl, results.jsonl (both with a ``benchmark`` column), summary.json,
             pass_at_k.png; manifest metrics {"<benchmark>": {"pass@1": ..., "n_tasks": ..., "n_samples": ..., "mode": ...}}

Counts: one record per sample; kept = scored, rejected = skipped (the benchmark cannot run it here,
e.g. a library is missing). Heavy imports (torch, transformers) happen inside the backends only.
It does not tune prompts per model and does not retry failed samples.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from opc_core import storage
from opc_core.manifest import Counts
from opc_core.stage import StageContext, StageResult, StageSpec
from opc_eval.config import EvalConfig


def _inputs(config: EvalConfig) -> dict[str, str]:
    if config.backend.kind == "local":
        return {"model": config.model_stage, "tokens": config.tokens_stage}
    if config.backend.kind in ("hf", "vllm") and not config.backend.model_dir:
        return {"model": config.model_stage}
    return {}


def _external(config: EvalConfig) -> str:
    """Benchmark files outside the workdir (and a remote server) are part of the content key."""
    parts = []
    for b in config.benchmarks:
        if b.data and os.path.exists(b.data):
            st = os.stat(b.data)
            parts.append(f"{b.data}:{st.st_size}:{int(st.st_mtime)}")
        if b.name == "bigcodebench-hard":
            parts.append(f"bcb-env:{_bigcodebench_env_key(b)}")
    if config.backend.kind == "openai":
        parts.append(f"{config.backend.base_url}|{config.backend.model}")
    if config.backend.model_dir:
        parts.append(config.backend.model_dir)
    return "|".join(parts)


def _bigcodebench_env_key(sel) -> str:
    """Which interpreter BigCodeBench programs will run with (for the venv: its pinned requirements)."""
    import hashlib

    from opc_eval.bigcodebench_env import STAMP_NAME, default_python, default_venv_dir, requirements_file

    if sel.python:
        return sel.python
    if sel.build_env:
        return "requirements:" + hashlib.sha256(requirements_file().read_bytes()).hexdigest()
    python = default_python()
    if python is None:
        return "current-interpreter"
    try:
        return "requirements:" + json.loads((default_venv_dir() / STAMP_NAME).read_text())["requirements_sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return python


def _backend(config: EvalConfig, ctx: StageContext):
    from opc_eval.backends import make_backend

    b = config.backend
    if b.kind == "local":
        tokenizer = ctx.input_artifact("tokens", "tokenizer")
        return make_backend("local", model_uri=ctx.input_uri("model"), tokenizer_uri=tokenizer)
    if b.kind in ("hf", "vllm"):
        return make_backend(b.kind, model_dir=b.model_dir or ctx.input_artifact("model"))
    return make_backend("openai", base_url=b.base_url, model=b.model, api_key=os.environ.get(b.api_key_env))


def _select(tasks, sel) -> list:
    if sel.limit:
        tasks = tasks[: sel.limit]
    if sel.task_ids:
        wanted = set(sel.task_ids)
        tasks = [t for t in tasks if t.task_id in wanted]
    return tasks


def run(config: EvalConfig, ctx: StageContext) -> StageResult:
    from opc_core.progress import track
    from opc_eval.backends import GenParams
    from opc_eval.benchmarks import get_benchmark
    from opc_eval.plot import plot_pass_at_k
    from opc_eval.scoring import score_samples
    from opc_sandbox import Limits

    out_dir = Path(ctx.scratch) / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    summaries: dict[str, dict[str, Any]] = {}
    metrics: dict[str, Any] = {}
    n_in = n_skipped = 0
    with _backend(config, ctx) as backend, open(out_dir / "samples.jsonl", "w") as fs, open(
        out_dir / "results.jsonl", "w"
    ) as fr:
        for sel in config.benchmarks:
            python = sel.python
            if sel.build_env:
                from opc_eval.bigcodebench_env import ensure_bigcodebench_env

                python = str(ensure_bigcodebench_env().python)
            bench = get_benchmark(sel.name, timeout_s=config.timeout_s, python=python)
            tasks = _select(bench.load(sel.data), sel)
            params = GenParams(max_new_tokens=config.max_new_tokens, temperature=config.temperature,
                               top_p=config.top_p, n=config.n_samples, seed=ctx.seed,
                               stop=bench.stops if config.mode == "completion" else ())
            samples: list[dict[str, Any]] = []
            for task in track(tasks, f"eval {sel.name}: generate", total=len(tasks)):
                prompt = bench.get_prompt(task, config.mode)
                raws = (backend.complete([prompt], params) if config.mode == "completion"
                        else backend.chat([prompt], params))[0]
                for raw in raws:
                    samples.append({"task_id": task.task_id, **bench.postprocess(task, raw, config.mode, config.sanitize),
                                    "raw": raw})
            results, summary = score_samples(bench, tasks, samples, sanitize=config.sanitize and config.mode == "completion",
                                             workers=config.workers, limits=Limits(memory_mb=config.memory_mb))
            for s, r in zip(samples, results, strict=True):
                fs.write(json.dumps({"benchmark": sel.name, **s}) + "\n")
                fr.write(json.dumps({"benchmark": sel.name, "task_id": r.task_id, "completion_id": r.completion_id,
                                     "passed": r.passed, "result": r.result}) + "\n")
            summary["mode"] = config.mode
            summaries[sel.name] = summary
            metrics[sel.name] = {k: v for k, v in summary.items() if k.startswith("pass@")} | {
                "n_tasks": summary["n_tasks"], "n_samples": summary["n_samples"], "mode": config.mode,
                "n_skipped": summary["n_skipped_samples"]}
            n_in += len(samples)
            n_skipped += summary["n_skipped_samples"]
            ctx.log.info("eval %s (%s, %d tasks x %d): %s", sel.name, config.mode, len(tasks), config.n_samples,
                         ", ".join(f"{k}={v:.4f}" for k, v in summary.items() if k.startswith("pass@")))
    (out_dir / "summary.json").write_text(json.dumps(summaries, indent=2) + "\n")
    results = [json.loads(line) for line in (out_dir / "results.jsonl").read_text().splitlines() if line.strip()]
    plot_pass_at_k(summaries, out_dir / "pass_at_k.png", title=f"{ctx.recipe_name}: {config.model_stage} ({config.mode})",
                   results=results)
    storage.upload_dir(out_dir, ctx.output_uri)
    text = "; ".join(f"{n}: " + ", ".join(f"{k} {v:.3f}" for k, v in s.items() if k.startswith("pass@"))
                     for n, s in summaries.items())
    return StageResult(counts=Counts(records_in=n_in, kept=n_in - n_skipped, rejected=n_skipped),
                       metrics=metrics, summary=text)


def _spec(name: str, description: str) -> StageSpec:
    return StageSpec(
        name=name,
        config_model=EvalConfig,
        run=run,
        inputs=_inputs,
        # the local backend generates with our model code, so its modules are part of what computes the scores
        code_modules=("opc_eval", "opc_sandbox", "opc_train.generation", "opc_train.model", "opc_train.checkpoint",
                      "opc_train.tokenizer", "opc_core.chat_template"),
        external_fingerprint=_external,
        volatile=("pass_at_k.png",),
        description=description,
    )


# one implementation, two stages: the base model in completion mode (eval_base) and the instruct model in
# chat mode (eval); each has its own recipe section (model_stage, mode, benchmarks)
STAGE = _spec("eval", "Evaluate a model (recipes: the instruct model in chat mode): generate, score, pass@k.")
STAGE_BASE = _spec("eval_base", "Evaluate the base model in completion mode (HumanEval(+), MBPP(+), ...): pass@k.")
