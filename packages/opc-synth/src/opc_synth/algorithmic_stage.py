"""The ``algorithmic`` stage: select the algorithmic corpus from the data stage's kept files (no teacher).

    data/kept/*.parquet ─▶ MarkerSet.match(content) ─▶ selected? ─▶ kept/part-*.parquet (+ markers)

OpenCoder anneals on an "algorithmic corpus" of files that look like solutions to algorithm problems;
the selector is keyword markers kept as data (``algorithmic_markers.yaml``, see
``opc_synth.algorithmic_markers``). Output rows use the data stage's document columns plus
``generator = "algorithmic"``, ``exec_status = "not_run"`` and ``markers`` (the matched marker names).
Counts: in = the data stage's kept files; kept = selected; rejected = no (or too weak) markers. An empty
selection is a warning: a small corpus may hold no such file.

What it does NOT do: run the code, deduplicate or decontaminate (the data stage did both on these files).
"""

from __future__ import annotations

import os
from collections import Counter

from pydantic import BaseModel, ConfigDict, Field

from opc_core import storage
from opc_core.manifest import Counts
from opc_core.stage import StageContext, StageResult, StageSpec


class AlgorithmicConfig(BaseModel):
    """``stages.algorithmic`` in a recipe."""

    model_config = ConfigDict(extra="forbid")
    markers_file: str | None = Field(None, description="a marker YAML (default: the package's algorithmic_markers.yaml)")
    languages: list[str] | None = Field(None, description="only files of these program_lang values (None: all)")
    doc_types: list[str] = Field(default_factory=lambda: ["code"], description="only files of these doc types")
    records_per_shard: int = Field(50_000, ge=1)


def _external(cfg: AlgorithmicConfig) -> str:
    """The marker file is data, not code: its bytes are part of the key (the default one too)."""
    import hashlib

    from opc_synth.algorithmic_markers import DEFAULT_MARKERS

    path = cfg.markers_file or str(DEFAULT_MARKERS)
    if not os.path.exists(path):
        return f"markers:{path}:missing"
    with open(path, "rb") as f:
        return "markers:" + hashlib.sha256(f.read()).hexdigest()


def run(cfg: AlgorithmicConfig, ctx: StageContext) -> StageResult:
    from opc_core.dataset import ShardWriter, read_batches
    from opc_core.progress import track
    from opc_synth.algorithmic_markers import load_markers
    from opc_synth.schemas import ALGORITHMIC_SCHEMA

    markers = load_markers(cfg.markers_file)
    langs = {x.lower() for x in cfg.languages} if cfg.languages else None
    types = set(cfg.doc_types)
    source = storage.join(ctx.input_uri("data"), "kept")
    hits: Counter[str] = Counter()
    rejected: Counter[str] = Counter()
    per_lang: Counter[str] = Counter()
    n_in = kept = 0
    columns = ["repo_name", "path", "content", "program_lang", "doc_type"]
    with ShardWriter(storage.join(ctx.output_uri, "kept"), ALGORITHMIC_SCHEMA, cfg.records_per_shard) as out:
        for batch in track(read_batches(source, columns=columns), "algorithmic: select"):
            for row in batch.to_pylist():
                n_in += 1
                lang = row.get("program_lang") or ""
                if row.get("doc_type") not in types or (langs is not None and lang.lower() not in langs):
                    rejected["out_of_scope"] += 1
                    continue
                selected, names = markers.match(row.get("content") or "")
                if not selected:
                    rejected["weak_markers" if names else "no_marker"] += 1
                    continue
                hits.update(names)
                per_lang[lang] += 1
                kept += 1
                out.write({"content": row["content"], "repo_name": row["repo_name"], "path": row["path"],
                           "doc_type": "code", "program_lang": lang, "generator": "algorithmic", "teacher": "",
                           "tests": None, "exec_status": "not_run", "markers": names})
    if kept == 0:
        ctx.log.warning("algorithmic: no file of the %d input files carries the markers: the set is empty", n_in)
    metrics = {"selected": kept, "rejected": dict(sorted(rejected.items())), "marker_hits": dict(sorted(hits.items())),
               "selected_by_language": dict(sorted(per_lang.items())),
               "sets": {"algorithmic": {"path": "kept", "kind": "pretrain", "rows": kept}}}
    return StageResult(counts=Counts(**{"in": n_in}, kept=kept, rejected=n_in - kept), metrics=metrics,
                       summary=f"{kept} of {n_in} files selected as algorithmic")


STAGE = StageSpec(
    name="algorithmic",
    config_model=AlgorithmicConfig,
    run=run,
    inputs={"data": "data"},
    code_modules=("opc_synth.algorithmic_stage", "opc_synth.algorithmic_markers", "opc_synth.schemas"),
    external_fingerprint=_external,
    description="Select the algorithmic corpus (algorithm-problem files) from the data stage's kept files by markers.",
)
