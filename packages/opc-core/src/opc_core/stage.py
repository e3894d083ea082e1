"""The stage contract: the spine of the design.

A stage is a plain function ``run(config, ctx) -> StageResult``:

    typed config (pydantic)  ─┐
    input manifests (ctx)    ─┼─▶  run(config, ctx)  ─▶  files under ctx.output_uri  +  StageResult
    stage code version       ─┘

The runner (``opc_core.runner``) computes the content key from the config, the inputs' output
fingerprints and the code version, skips the stage when ``<workdir>/<stage>/<key>/_MANIFEST.json``
exists, and otherwise calls ``run`` and writes the manifest last. A stage never imports Prefect and
never reads another stage's internals: only its inputs' manifests and the files they describe.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from opc_core.manifest import Counts, Manifest

PREVIOUS_ROLE = "previous"
"""The input role naming the output of the previous version that an incremental output extends."""


@dataclass(frozen=True)
class StageSpec:
    """What a stage package registers under the ``opc.stages`` entry point group.

    ``inputs`` maps a role to the upstream stage that fills it (e.g. ``{"tokens": "tokenize"}``); it may
    be a function of the config, so a recipe can say which checkpoint a release ships.
    ``external_fingerprint`` lets a stage that reads outside the workdir (the data stage reading raw
    dumps) fold a cheap fingerprint of those sources into its content key.
    ``volatile`` are glob patterns of output files left out of the output fingerprint because they
    hold timings or host names (a deterministic redo must give the same fingerprint).
    ``extends``: in an incremental retrain (``opc_core.retrain``) the stage gets the previous version's
    output of itself as the input role ``previous`` and does only the new work (the data stage ingests only
    new source units, tokenize appends shards with the same tokenizer, pretrain continues from the previous
    weights, release numbers the version and shows the deltas); the role enters the key like any input.
    ``pending``: for a stage that reads raw inputs and extends, how many input units a retrain on top of a
    previous output would read (the retrain does nothing when it is 0, even if the sources' listing changed,
    e.g. an old dump was deleted).
    """

    name: str
    config_model: type[BaseModel]
    run: Callable[[Any, StageContext], StageResult]
    inputs: dict[str, str] | Callable[[Any], dict[str, str]] = field(default_factory=dict)
    code_modules: tuple[str, ...] = ()
    external_fingerprint: Callable[[Any], str] | None = None
    volatile: tuple[str, ...] = ()
    extends: bool = False
    pending: Callable[[Any, Manifest], int] | None = None
    description: str = ""

    def input_roles(self, config: BaseModel) -> dict[str, str]:
        return self.inputs(config) if callable(self.inputs) else dict(self.inputs)


@dataclass
class StageContext:
    """Everything a running stage may use besides its config."""

    stage: str
    key: str
    output_uri: str
    workdir: str
    seed: int
    recipe_name: str
    recipe: dict[str, Any]
    inputs: dict[str, Manifest]
    scratch: Path
    log: logging.Logger

    @property
    def previous(self) -> Manifest | None:
        """The output this one extends (an incremental retrain of a stage with ``extends``), else None."""
        return self.inputs.get(PREVIOUS_ROLE)

    def input_uri(self, role: str) -> str:
        return self.inputs[role].uri

    def input_artifact(self, role: str, name: str | None = None) -> str:
        """The main product of input ``role`` (no ``name``), or its named artifact ``name``."""
        m = self.inputs[role]
        if name is not None:
            return m.artifact(name)
        return m.artifact_uri or m.uri


@dataclass
class StageResult:
    """What a stage reports back; the runner turns it into the manifest.

    ``counts`` (records in = kept + rejected + quarantined) is required for stages that consume
    records; ``metrics`` are stage-specific numbers (funnel, losses, pass@k) that later stages and the
    model card read; ``artifact`` is a path relative to the output dir when the stage's main product
    is a sub-folder (e.g. the Hugging Face model dir of a release); ``artifacts`` names the products a
    downstream stage may read (``{"tokenizer": "tokenizer"}``, relative paths); ``sources`` lists raw
    inputs read from outside the workdir, for lineage.
    """

    counts: Counts | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    artifact: str | None = None
    artifacts: dict[str, str] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    summary: str = ""
