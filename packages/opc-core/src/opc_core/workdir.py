"""What exists in a workdir: every stage output, complete (has a manifest) or not.

Layout: ``<workdir>/<stage>/<key>/`` for outputs, ``<workdir>/_runs/`` for run records. Folders whose
name starts with ``_`` or ``.`` are not stage outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

from opc_core import storage
from opc_core.manifest import MANIFEST_NAME, Manifest, read_manifest


@dataclass
class OutputEntry:
    stage: str
    key: str
    uri: str
    complete: bool
    created: str | None
    manifest: Manifest | None

    def as_status(self) -> dict:
        """The stable ``opc status --json`` shape: ``uri`` is the stage's main artifact when it has one."""
        uri = (self.manifest.artifact_uri or self.manifest.uri) if self.manifest else self.uri
        return {"stage": self.stage, "key": self.key, "uri": uri, "complete": self.complete, "created": self.created}


def _child_dirs(fs, path: str) -> list[str]:
    if not fs.exists(path):
        return []
    return sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(path, detail=False) if fs.isdir(p))


def list_outputs(workdir: str) -> list[OutputEntry]:
    workdir = storage.normalize(workdir)
    with storage.remote_errors(workdir):
        return _list_outputs(workdir)


def workdir_exists(workdir: str) -> bool:
    return storage.exists(storage.normalize(workdir))


def _list_outputs(workdir: str) -> list[OutputEntry]:
    fs, root = storage.filesystem(workdir)
    entries = []
    for stage in _child_dirs(fs, root):
        if stage.startswith(("_", ".")):
            continue
        for key in _child_dirs(fs, f"{root.rstrip('/')}/{stage}"):
            if key.startswith(("_", ".")):
                continue
            uri = storage.join(workdir, stage, key)
            complete = fs.exists(f"{root.rstrip('/')}/{stage}/{key}/{MANIFEST_NAME}")
            manifest = read_manifest(uri) if complete else None
            entries.append(OutputEntry(stage, key, uri, complete, manifest.created if manifest else None, manifest))
    return entries


def latest_output(stage: str, workdir: str) -> OutputEntry:
    """The output of ``stage`` that the latest run used: what notebooks and reports open by default.

    Among the complete outputs ``opc status --json`` lists, the one a run record (``_runs/*.json``) names most
    recently; with no run record (outputs made by ``opc run`` alone), the newest by ``created``.
    """
    from opc_core.errors import OpcError

    entries = [e for e in list_outputs(workdir) if e.stage == stage and e.complete]
    if not entries:
        raise OpcError(f"no complete {stage!r} output in {storage.normalize(workdir)}",
                       hint=f"run `make reproduce` (or `opc run {stage}`) first, or point OPC_NOTEBOOK_WORKDIR at "
                            "a workdir that has one")
    recorded: dict[str, str] = {}
    runs = storage.join(storage.normalize(workdir), "_runs")
    for rel in storage.list_files(runs) if storage.exists(runs) else []:
        if rel.endswith(".json") and "/" not in rel:
            entry = storage.read_json(storage.join(runs, rel)).get("stages", {}).get(stage)
            if entry and entry.get("recorded", "") > recorded.get(entry["key"], ""):
                recorded[entry["key"]] = entry["recorded"]
    return max(entries, key=lambda e: (recorded.get(e.key, ""), e.created or ""))


# The product pipeline's order (issue 13), for ties and for stages no complete manifest connects yet.
CANONICAL_ORDER = ("data", "recall", "tokenize", "pretrain", "eval_base", "algorithmic", "synth", "anneal", "sft1",
                   "sft2", "eval", "release")


def pipeline_order(entries: list[OutputEntry]) -> list[OutputEntry]:
    """Entries with every stage after the stages its manifests read from (a topological order of the
    stage graph the manifests record); ties in the product pipeline's order, then by name; within a
    stage, oldest first and incomplete outputs last."""
    stages = sorted({e.stage for e in entries})
    after: dict[str, set[str]] = {s: set() for s in stages}
    for e in entries:
        if e.manifest is not None:
            after[e.stage] |= {ref.stage for ref in e.manifest.inputs.values() if ref.stage in after}

    def rank(stage: str) -> tuple[int, str]:
        return (CANONICAL_ORDER.index(stage) if stage in CANONICAL_ORDER else len(CANONICAL_ORDER), stage)

    ordered: list[str] = []
    while len(ordered) < len(stages):
        ready = [s for s in stages if s not in ordered and after[s] <= set(ordered)]
        if not ready:  # a cycle cannot come from manifests, but never loop forever
            ready = [s for s in stages if s not in ordered]
        ordered.append(min(ready, key=rank))
    position = {s: i for i, s in enumerate(ordered)}
    return sorted(entries, key=lambda e: (position[e.stage], not e.complete, e.created or "", e.key))


def format_status(workdir: str, entries: list[OutputEntry], wide: bool = False) -> str:
    """``opc status`` as text that fits 100 columns: one line per output, its URI on the next line
    (``wide``: at the end of the line instead)."""
    if not entries:
        return f"workdir {workdir}: no stage outputs yet"
    lines = [f"workdir {workdir}", f"{'stage':<12} {'key':<16} {'complete':<10} {'created':<20}  counts"]
    for e in entries:
        c = e.manifest.counts if e.manifest else None
        counts = f"in {c.records_in} kept {c.kept}" if c else ""
        row = f"{e.stage[:12]:<12} {e.key[:16]:<16} {'yes' if e.complete else 'NO':<10} {e.created or '':<20}  {counts}"
        uri = e.as_status()["uri"]
        lines += [f"{row}  {uri}"] if wide else [row.rstrip(), f"    {uri}"]
    return "\n".join(lines)
