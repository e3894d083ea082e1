"""The ``release`` stage: a trained checkpoint -> a verified, versioned Hugging Face model directory.

    inputs  model (pretrain, or whichever stage the recipe names)   tokens (tokenize)   eval   data
            [eval_base: the base model's completion-mode eval, for the card's base vs instruct rows]
              │ load_final                                          │ tokenizer/          │      │ attribution.json
              ▼                                                     ▼                     ▼      ▼ metrics, config
    <out>/model/  config.json  model.safetensors (+ shards, index)  generation_config.json  tokenizer files
                  README.md (model card from the manifests)  attribution.json  opc_release.json  SHA256SUMS
    <out>/publish.json   where it was published (volatile: not part of the output fingerprint)

The stage's artifact is ``model/``, so ``opc status --json`` shows the Hugging Face directory as its uri.
After writing, the stage runs ``verify_release`` on the directory (checksums, transformers load, logits
against our model, generation) and fails if any check fails; then it publishes to every destination in
``publish_to`` (folder, s3://, hf://org/repo) under ``name``/``version`` (defaults: ``opc-<recipe name>``
and the recipe's version). Re-running with the same content key is a cache hit, and publishing the
same content again is a no-op (see ``publish``).

Incremental retrains (``extends=True``): a retrain on top of a recorded version gives this stage the
previous release's manifest as the input role ``previous``. The new release is then numbered
``release_number`` = the previous one's + 1 (a release without ``previous`` is number 1) and versioned
``<version>-r<N>`` for N >= 2 (``0.1.0``, ``0.1.0-r2``, ...), so every release publishes side by side under
``name``/``version`` and the old ones stay addressable. ``release_number``, ``version`` and
``previous_release`` (key, version, number) go into the stage metrics and ``opc_release.json``, and the card
gains a "What changed since <previous version>" section built from the manifests of both releases (new
source units and records, duplicates of earlier versions removed, new and total training tokens, the
weights training continued from, validation loss and eval scores previous -> now, signed differences).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from opc_core import storage
from opc_core.errors import OpcError
from opc_core.manifest import Manifest
from opc_core.stage import StageContext, StageResult, StageSpec

DEFAULT_LIMITATIONS = [
    "Trained only on the data and token budget listed above; small recipes give models that are useful to "
    "test the pipeline, not to write production code.",
    "No safety tuning: it can produce insecure, wrong or licence-encumbered "
    "code, and it can repeat text from its training data.",
    "Evaluated only on the benchmarks in the table above; numbers on other tasks are unknown.",
    "Context length is fixed by `max_position_embeddings` in config.json; longer inputs are not supported.",
]


class ReleaseConfig(BaseModel):
    """What to release and where (``stages.release`` in a recipe)."""

    model_config = ConfigDict(extra="forbid")
    model_stage: str = Field("pretrain", description="the stage whose final/ checkpoint is released (pretrain, "
                             "anneal, sft2: the instruct model, chat template as its default prompt format)")
    eval_stage: str | None = Field("eval", description="the eval output for the card; None = not evaluated")
    base_eval_stage: str | None = Field(None, description="the base model's eval (eval_base) for the card's base vs "
                                        "instruct rows; None = only the released model's eval")
    name: str | None = Field(None, description="release name; default opc-<recipe name>")
    version: str | None = Field(None, description="release version; default the recipe's version")
    license: str = "apache-2.0"
    intended_use: str = ("Research on code LLM training and evaluation; code completion and code chat "
                         "(ChatML) experiments. Review generated code before running it.")
    limitations: list[str] = Field(default_factory=lambda: list(DEFAULT_LIMITATIONS))
    max_shard_bytes: int = Field(2_000_000_000, ge=1, description="safetensors shard size above which weights split")
    verify: bool = True
    publish_to: list[str] = Field(default_factory=list, description="folders, s3:// prefixes, hf://org/repo")
    force_publish: bool = False


def _input_roles(cfg: ReleaseConfig) -> dict[str, str]:
    roles = {"model": cfg.model_stage, "tokens": "tokenize", "data": "data"}
    if cfg.eval_stage:
        roles["eval"] = cfg.eval_stage
    if cfg.base_eval_stage:
        roles["eval_base"] = cfg.base_eval_stage
    return roles


def release_number(previous: Manifest | None) -> int:
    """1 for a first release; the previous release's number + 1 when extending one (1 if it recorded none)."""
    if previous is None:
        return 1
    n = previous.metrics.get("release_number")
    return (n if isinstance(n, int) and not isinstance(n, bool) and n >= 1 else 1) + 1


def release_names(cfg: ReleaseConfig, recipe: dict[str, Any], recipe_name: str,
                  number: int = 1) -> tuple[str, str]:
    """(name, version); release N >= 2 of the same base version is ``<version>-r<N>``."""
    base = cfg.version or str(recipe.get("version", "0.0.0"))
    return cfg.name or f"opc-{recipe_name}", base if number <= 1 else f"{base}-r{number}"


def previous_release_ref(previous: Manifest | None) -> dict[str, Any] | None:
    """What the release metrics and ``opc_release.json`` say about the release this one extends (no paths)."""
    if previous is None:
        return None
    return {"key": previous.key, "version": previous.metrics.get("version"),
            "release_number": release_number(previous) - 1}


def build_release(cfg: ReleaseConfig, ctx: StageContext, model_dir) -> dict[str, Any]:
    """Write the whole release directory (weights, tokenizer, card, attribution, sums); returns its meta."""
    import json

    from opc_core.lineage import lineage_chain
    from opc_release.checksums import write_sums
    from opc_release.hf_export import export_model
    from opc_release.model_card import CardFacts, previous_release_facts, public_source, render_card
    from opc_train.checkpoint import load_final

    number = release_number(ctx.previous)
    name, version = release_names(cfg, ctx.recipe, ctx.recipe_name, number)
    model_uri = ctx.input_uri("model")
    model, model_config = load_final(model_uri)
    export_model(model, model_config, ctx.input_artifact("tokens", "tokenizer"), model_dir,
                 cfg.max_shard_bytes)
    attribution_uri = storage.join(ctx.input_uri("data"), "attribution.json")
    if not storage.exists(attribution_uri):
        raise OpcError("the data output has no attribution.json to ship with the release", where=attribution_uri,
                       hint="re-run the data stage (it writes attribution.json)")
    attribution = storage.read_bytes(attribution_uri)
    (model_dir / "attribution.json").write_bytes(attribution)

    lineage = []
    for role in ("model", "eval", "eval_base", "tokens", "data"):
        if role in ctx.inputs:
            lineage += lineage_chain(ctx.inputs[role])
    meta = {
        "name": name,
        "version": version,
        "release_number": number,
        "previous_release": previous_release_ref(ctx.previous),
        "release_key": ctx.key,
        "recipe": ctx.recipe_name,
        "model": {"stage": ctx.inputs["model"].stage, "key": ctx.inputs["model"].key},  # no machine paths
        "inputs": {role: {"stage": m.stage, "key": m.key, "fingerprint": m.fingerprint}
                   for role, m in sorted(ctx.inputs.items())},
        "lineage": list({(m.stage, m.key): {"stage": m.stage, "key": m.key, "fingerprint": m.fingerprint}
                         for _, _, m, _ in lineage if m}.values()),
        "sources": sorted({public_source(uri) for _, role, m, uri in lineage if m is None and role == "source"}),
    }
    (model_dir / "opc_release.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    facts = CardFacts(
        name=name, version=version, release_key=ctx.key, license=cfg.license, intended_use=cfg.intended_use,
        limitations=cfg.limitations, recipe=ctx.recipe, model_config=model_config.to_dict(),
        model_params=sum(p.numel() for p in model.parameters()), model=ctx.inputs["model"],
        tokens=ctx.inputs["tokens"], data=ctx.inputs["data"], eval=ctx.inputs.get("eval"), lineage=lineage,
        base_eval=ctx.inputs.get("eval_base"),
        attribution=json.loads(attribution),
        release_number=number,
        previous=previous_release_facts(ctx.previous) if ctx.previous is not None else None,
    )
    (model_dir / "README.md").write_text(render_card(facts), encoding="utf-8")
    write_sums(model_dir)
    return meta


def run(cfg: ReleaseConfig, ctx: StageContext) -> StageResult:
    from pathlib import Path

    from opc_release.publish import publish
    from opc_release.verify import verify_release

    remote = storage.is_remote(ctx.output_uri)
    local_out = ctx.scratch / "out" if remote else Path(ctx.output_uri)
    model_dir = local_out / "model"
    meta = build_release(cfg, ctx, model_dir)
    checks: dict[str, bool] = {}
    if cfg.verify:
        report = verify_release(str(model_dir), reference_uri=ctx.input_uri("model"))
        for line in report.lines():
            ctx.log.info("verify: %s", line)
        checks = {c.name: c.ok for c in report.checks}
        if not report.ok:
            failed = [f"{c.name}: {c.detail}" for c in report.checks if not c.ok]
            raise OpcError(f"the release does not verify: {'; '.join(failed)}", where=str(model_dir))
    published = [publish(model_dir, dest, force=cfg.force_publish).to_dict() for dest in cfg.publish_to]
    storage.write_json_atomic(str(local_out / "publish.json"), {"published": published})
    if remote:
        storage.upload_dir(local_out, ctx.output_uri)
    files = sorted(p.relative_to(model_dir).as_posix() for p in model_dir.rglob("*") if p.is_file())
    size = sum((model_dir / f).stat().st_size for f in files)
    where = storage.join(ctx.output_uri, "model")
    return StageResult(
        artifact="model", artifacts={"model": "model"},
        metrics={"name": meta["name"], "version": meta["version"], "release_number": meta["release_number"],
                 "previous_release": meta["previous_release"], "files": files, "bytes": size,
                 "verify": checks, "published": published, "model_key": meta["model"]["key"]},
        summary=f"released {meta['name']} {meta['version']}"
                + (f" (release {meta['release_number']}, after {meta['previous_release']['version']})"
                   if meta["previous_release"] else "") + f" at {where}"
                + ("; verify passed" if checks else "") + "".join(f"; {p['action']} {p['uri']}" for p in published),
    )


STAGE = StageSpec(
    name="release",
    config_model=ReleaseConfig,
    run=run,
    inputs=_input_roles,
    code_modules=("opc_release", "opc_train.model", "opc_train.checkpoint", "opc_train.tokenizer",
                  "opc_core.chat_template"),
    volatile=("publish.json",),
    extends=True,
    description="export a checkpoint as a verified Hugging Face model dir with model card, checksums; publish it",
)
