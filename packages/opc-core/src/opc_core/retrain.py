"""Incremental retraining: each retrain is a new *version* that extends the last one with only the new work.

    version 1   the whole pipeline (as ``opc reproduce``)            ─▶ _versions/<recipe>.json  [v1: stage -> output]
    version N   new raw data?  (the ``external_fingerprint`` of a redone stage that ``extends`` its output,
                               i.e. the data stage's listing of the sources, differs from version N-1's)
                  no  ─▶ nothing to do (a retrain never recomputes what exists)
                  yes ─▶ for stage in schedule.retrain_stages (default: the pipeline):
                           run_stage(..., extending=Extending(N-1 outputs, redo))
                           · stages not redone are version N-1's outputs, carried over unchanged
                           · a stage with ``extends`` gets its own N-1 output as input role ``previous``:
                             data ingests only new source units and dedups against everything kept before,
                             tokenize appends shards with the same tokenizer, pretrain continues from the
                             previous weights, release numbers the version and shows the deltas
                         ─▶ _versions/<recipe>.json  [vN: stage -> output]

Keys stay honest: an extending output's key hashes its new inputs *and* the fingerprint of the output it
extends, so version N's lineage runs through N-1 back to every dump. The ledger only points at outputs
(like the run records); ``opc gc`` keeps every recorded version. A retrain that crashed is rerun with the
same plan: finished stages are cache hits.

What it does NOT do: import Prefect (``flows/stage_flows.py`` wraps these steps as tasks) or decide what a
stage does with its previous output (the stage does).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

from opc_core import storage
from opc_core.errors import OpcError
from opc_core.manifest import Manifest, read_manifest
from opc_core.recipe import Recipe
from opc_core.registry import get_stage
from opc_core.runner import Extending, StageOutcome, run_stage, utc_now

log = logging.getLogger("opc.retrain")


def ledger_uri(workdir: str, recipe_name: str) -> str:
    """``<workdir>/_versions/<recipe>.json``: the versions a recipe's retrains produced, oldest first."""
    return storage.join(workdir, "_versions", f"{recipe_name}.json")


def read_versions(workdir: str, recipe_name: str) -> list[dict]:
    uri = ledger_uri(workdir, recipe_name)
    return storage.read_json(uri)["versions"] if storage.exists(uri) else []


def read_all_versions(workdir: str) -> dict[str, list[dict]]:
    """recipe name -> its versions, for every ledger under ``workdir``."""
    root = storage.join(workdir, "_versions")
    if not storage.exists(root):
        return {}
    return {rel.removesuffix(".json"): storage.read_json(storage.join(root, rel)).get("versions", [])
            for rel in sorted(storage.list_files(root)) if rel.endswith(".json") and "/" not in rel}


def format_versions(workdir: str, ledgers: dict[str, list[dict]]) -> str:
    """``opc versions``: a line per version (what it extends, which stages ran), its release key if any."""
    if not ledgers:
        return f"workdir {workdir}: no retrain has recorded a version yet (`opc retrain --recipe R`)"
    lines = [f"workdir {workdir}", f"{'recipe':<16} {'version':>7}  {'created':<20}  {'extends':>7}  release           ran"]
    for name, versions in ledgers.items():
        for v in versions:
            release = v["outputs"].get("release", {}).get("key", "-")
            lines.append(f"{name[:16]:<16} {v['version']:>7}  {v['created']:<20}  {v.get('extends') or '-':>7}  "
                         f"{release:<16}  {','.join(v.get('ran', []))}")
    return "\n".join(lines)


def recorded_keys(workdir: str) -> set[tuple[str, str]]:
    """(stage, key) of every output any recorded version points at (``opc gc`` keeps them)."""
    return {(stage, out["key"]) for versions in read_all_versions(workdir).values() for version in versions
            for stage, out in version["outputs"].items()}


@dataclass
class RetrainPlan:
    """What a retrain will do: the version it makes, the stages it runs, and on top of what."""

    version: int
    stages: list[str]
    extending: Extending | None
    reason: str
    new_sources: dict[str, str] = field(default_factory=dict)  # stage -> its new external fingerprint

    @property
    def nothing_to_do(self) -> bool:
        return not self.stages


def load_version(recipe: Recipe, number: int) -> Extending:
    """Version ``number`` of the recipe as the base of a retrain (every recorded output must still exist)."""
    versions = {v["version"]: v for v in read_versions(recipe.workdir, recipe.name)}
    if number not in versions:
        raise OpcError(f"recipe {recipe.name!r} has no version {number}", where=ledger_uri(recipe.workdir, recipe.name))
    outputs: dict[str, Manifest] = {}
    for stage, out in versions[number]["outputs"].items():
        try:
            outputs[stage] = read_manifest(out["uri"])
        except OpcError as exc:
            raise OpcError(f"version {number}'s {stage} output is gone, so a retrain cannot extend it",
                           where=out["uri"], hint="restore it, or start a new series by moving "
                           f"{ledger_uri(recipe.workdir, recipe.name)} away") from exc
    redo = recipe.schedule.retrain_stages or recipe.pipeline
    return Extending(version=number, outputs=outputs, redo=frozenset(redo))


def plan_retrain(recipe: Recipe) -> RetrainPlan:
    """Version 1 = the whole pipeline; later versions only when a redone stage's raw inputs changed."""
    versions = read_versions(recipe.workdir, recipe.name)
    if not versions:
        return RetrainPlan(1, list(recipe.pipeline), None, "first version: the whole pipeline")
    last = versions[-1]["version"]
    extending = load_version(recipe, last)
    stages = [s for s in recipe.pipeline if s in extending.redo]
    changed: dict[str, str] = {}
    for stage in stages:  # raw inputs read from outside the workdir by a stage that can extend its output
        spec = get_stage(stage)
        if spec.external_fingerprint is None or not spec.extends or stage not in extending.outputs:
            continue
        config = recipe.stage_config(stage)
        external = spec.external_fingerprint(config)
        if external == extending.outputs[stage].external_fingerprint:
            continue
        if spec.pending is not None and spec.pending(config, extending.outputs[stage]) == 0:
            log.info("retrain: the %s sources' listing changed but holds no unit not read before", stage)
            continue
        changed[stage] = external or ""
    if not changed:
        return RetrainPlan(last + 1, [], extending, f"no new raw data since version {last}: nothing to do")
    return RetrainPlan(last + 1, stages, extending,
                       f"new raw data for {', '.join(changed)}: version {last + 1} extends version {last} "
                       f"({', '.join(stages)}; carried over: "
                       f"{', '.join(s for s in recipe.pipeline if s not in stages) or 'nothing'})", changed)


def record_version(recipe: Recipe, plan: RetrainPlan, outcomes: dict[str, Manifest]) -> dict:
    """Append the version to the ledger: every pipeline stage's output (run now, or carried over)."""
    outputs: dict[str, dict[str, str]] = {}
    for stage in recipe.pipeline:
        m = outcomes.get(stage) or (plan.extending.outputs.get(stage) if plan.extending else None)
        if m is None:
            raise OpcError(f"version {plan.version} has no {stage} output to record")
        outputs[stage] = {"key": m.key, "uri": m.uri}
    entry = {"version": plan.version, "created": utc_now(), "extends": plan.extending.version if plan.extending else None,
             "ran": [s for s in recipe.pipeline if s in outcomes], "outputs": outputs}
    uri = ledger_uri(recipe.workdir, recipe.name)
    versions = [v for v in read_versions(recipe.workdir, recipe.name) if v["version"] != plan.version]
    storage.write_text_atomic(uri, json.dumps({"recipe": recipe.name, "versions": [*versions, entry]}, indent=2) + "\n")
    return entry


def retrain(recipe: Recipe) -> tuple[RetrainPlan, list[StageOutcome]]:
    """Plan, run the stages, record the version (the CLI's ``opc retrain``; the Prefect flow does the same steps
    with each stage as a task)."""
    plan = plan_retrain(recipe)
    log.info("retrain %s: %s", recipe.name, plan.reason)
    if plan.nothing_to_do:
        return plan, []
    outcomes = [run_stage(recipe, stage, extending=plan.extending) for stage in plan.stages]
    entry = record_version(recipe, plan, {o.stage: o.manifest for o in outcomes})
    log.info("retrain %s: version %d recorded (%s)", recipe.name, entry["version"], ledger_uri(recipe.workdir, recipe.name))
    return plan, outcomes
