"""The in-process runner: resolve a stage's inputs, compute its key, skip or run it, write the manifest.

Used by the CLI (``opc run``, ``opc reproduce`` without Prefect), by tests and notebooks, and by the
Prefect flows in ``flows/`` (each flow task calls ``run_stage``). Everything Prefect adds (UI,
schedules, retries) sits on top; nothing here depends on it.

    run_stage(recipe, "pretrain")
      ├─ upstream manifests: tokenize/<key>/_MANIFEST.json  (must exist, or run_upstream=True)
      ├─ (a retrain: carried-over stages are the previous version's outputs; ``previous`` = the output extended)
      ├─ key = content_key(config, upstream fingerprints, code version)
      ├─ <workdir>/pretrain/<key>/_MANIFEST.json exists?  -> cache hit, return it
      ├─ lock <workdir>/pretrain/.<key>.lock (one writer; a second one stops, naming the owner)
      └─ else spec.run(config, ctx) -> fingerprint the output -> write _MANIFEST.json last
"""

from __future__ import annotations

import logging
import os
import platform
import socket
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from opc_core import storage
from opc_core.content_key import code_version, content_key, output_fingerprint
from opc_core.errors import OpcError
from opc_core.manifest import InputRef, Manifest, try_read_manifest, write_manifest
from opc_core.output_lock import OutputLock
from opc_core.recipe import Recipe
from opc_core.registry import get_stage
from opc_core.run_records import record_run
from opc_core.stage import PREVIOUS_ROLE, StageContext

log = logging.getLogger("opc.runner")


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class StageOutcome:
    stage: str
    key: str
    cached: bool
    manifest: Manifest
    seconds: float


@dataclass(frozen=True)
class Extending:
    """An incremental retrain on top of a recorded version (``opc_core.retrain``).

    ``outputs``: stage -> that version's output; ``redo``: the stages this version recomputes. An input
    filled by a stage not in ``redo`` is the previous version's output itself (carried over, same
    fingerprint); a stage with ``StageSpec.extends`` gets its own previous output as the ``previous`` role.
    """

    version: int
    outputs: dict[str, Manifest]
    redo: frozenset[str]


@dataclass
class _Plan:
    stage: str
    key: str
    output_uri: str
    inputs: dict[str, Manifest]
    external: str | None
    code: str


def stage_output_uri(recipe: Recipe, stage: str, key: str) -> str:
    return storage.join(recipe.workdir, stage, key)


def plan_stage(recipe: Recipe, stage: str, *, run_upstream: bool = False, _seen: tuple[str, ...] = (),
               extending: Extending | None = None) -> _Plan:
    """Compute the key of ``stage`` under ``recipe``; needs every upstream output to be complete."""
    if stage in _seen:
        raise OpcError(f"stage inputs form a cycle: {' -> '.join((*_seen, stage))}")
    spec = get_stage(stage)
    config = recipe.stage_config(stage)
    inputs: dict[str, Manifest] = {}
    for role, upstream in spec.input_roles(config).items():
        if role == PREVIOUS_ROLE:
            raise OpcError(f"stage {stage!r} names an input role {PREVIOUS_ROLE!r}, which is reserved for retrains")
        if extending is not None and upstream not in extending.redo:
            if upstream not in extending.outputs:
                raise OpcError(f"stage {stage!r} needs {upstream!r}, which this retrain does not redo and version "
                               f"{extending.version} did not record", hint="add it to schedule.retrain_stages")
            inputs[role] = extending.outputs[upstream]
            continue
        if run_upstream:
            inputs[role] = run_stage(recipe, upstream, run_upstream=True, _seen=(*_seen, stage),
                                     extending=extending).manifest
            continue
        up = plan_stage(recipe, upstream, _seen=(*_seen, stage), extending=extending)
        manifest = try_read_manifest(up.output_uri)
        if manifest is None:
            raise OpcError(
                f"stage {stage!r} needs the {upstream!r} output for this recipe, and it is not complete",
                where=up.output_uri,
                hint=f"run `opc run {upstream} --recipe {recipe.source or '<recipe>'}` first, or pass --upstream",
            )
        inputs[role] = manifest
    if extending is not None and spec.extends and stage in extending.outputs:
        inputs[PREVIOUS_ROLE] = extending.outputs[stage]
    external = spec.external_fingerprint(config) if spec.external_fingerprint else None
    code = code_version(*(spec.code_modules or (spec.run.__module__.split(".")[0],)))
    key = content_key(
        stage, config.model_dump(mode="json"), {r: m.fingerprint for r, m in inputs.items()}, external, code
    )
    return _Plan(stage, key, stage_output_uri(recipe, stage, key), inputs, external, code)


def run_stage(
    recipe: Recipe, stage: str, *, force: bool = False, run_upstream: bool = False, _seen: tuple[str, ...] = (),
    extending: Extending | None = None,
) -> StageOutcome:
    """Run one stage (or return its cached output). Raises OpcError with a hint on any user error.

    ``extending``: an incremental retrain on top of a recorded version (see ``Extending``)."""
    started = time.time()
    plan = plan_stage(recipe, stage, run_upstream=run_upstream, _seen=_seen, extending=extending)
    existing = try_read_manifest(plan.output_uri)
    if existing is not None and not force:
        log.info("%s: cache hit %s", stage, plan.output_uri)
        record_run(recipe, stage, plan.key)
        return StageOutcome(stage, plan.key, True, existing, time.time() - started)
    with OutputLock(plan.output_uri) as lock:  # one writer per output (see output_lock)
        if lock.previous_owner:
            log.warning("%s: took over a stale lock of %s (that process is gone)", stage, lock.previous_owner)
        existing = None if force else try_read_manifest(plan.output_uri)
        if existing is not None:  # finished by another process while we planned
            log.info("%s: cache hit %s", stage, plan.output_uri)
            record_run(recipe, stage, plan.key)
            return StageOutcome(stage, plan.key, True, existing, time.time() - started)
        if force:
            storage.remove(plan.output_uri)
        manifest = _run_planned(recipe, stage, plan)
    record_run(recipe, stage, plan.key)
    return StageOutcome(stage, plan.key, False, manifest, time.time() - started)


def _run_planned(recipe: Recipe, stage: str, plan: _Plan) -> Manifest:
    """Run the stage into its (locked) output folder and write the manifest last."""
    spec = get_stage(stage)
    config = recipe.stage_config(stage)
    storage.makedirs(plan.output_uri)
    stage_log = logging.getLogger(f"opc.{stage}")
    stage_log.info("%s: running -> %s", stage, plan.output_uri)
    with tempfile.TemporaryDirectory(prefix=f"opc-{stage}-") as scratch:
        ctx = StageContext(
            stage=stage,
            key=plan.key,
            output_uri=plan.output_uri,
            workdir=recipe.workdir,
            seed=recipe.seed,
            recipe_name=recipe.name,
            recipe=recipe.resolved(),
            inputs=plan.inputs,
            scratch=Path(scratch),
            log=stage_log,
        )
        t0 = time.time()
        result = spec.run(config, ctx)
        wall = time.time() - t0
    fingerprint, total_bytes, n_files = output_fingerprint(plan.output_uri, spec.volatile)
    artifact = storage.join(plan.output_uri, result.artifact) if result.artifact else None
    manifest = Manifest(
        stage=stage,
        key=plan.key,
        uri=plan.output_uri,
        artifact_uri=artifact,
        artifacts=dict(result.artifacts),
        fingerprint=fingerprint,
        code_version=plan.code,
        created=utc_now(),
        inputs={
            role: InputRef(stage=m.stage, key=m.key, uri=m.uri, fingerprint=m.fingerprint)
            for role, m in plan.inputs.items()
        },
        external_fingerprint=plan.external,
        sources=result.sources,
        counts=result.counts,
        bytes=total_bytes,
        files=n_files,
        timings={"wall_s": round(wall, 3), "started_unix": round(t0, 3)},
        host=f"{socket.gethostname()} ({platform.platform()}, pid {os.getpid()})",
        config=config.model_dump(mode="json"),
        recipe=recipe.resolved(),
        metrics=result.metrics,
        summary=result.summary,
    )
    write_manifest(manifest)
    return manifest


def run_pipeline(recipe: Recipe, stages: list[str] | None = None) -> list[StageOutcome]:
    """Run the recipe's pipeline in order; each stage is skipped when its output is already complete."""
    return [run_stage(recipe, stage) for stage in (stages or recipe.pipeline)]
