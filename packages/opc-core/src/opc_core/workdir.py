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
