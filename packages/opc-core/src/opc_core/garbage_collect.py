"""``opc gc``: remove outputs that no recipe run references any more (dry run by default).

Kept: every (stage, key) named in ``<workdir>/_runs/*.json`` or in a recorded retrain version
(``<workdir>/_versions/*.json``), and everything upstream of those in the lineage. Removed: other complete outputs, and incomplete leftovers of crashed runs.
"""

from __future__ import annotations

from opc_core import storage
from opc_core.manifest import try_read_manifest
from opc_core.retrain import recorded_keys
from opc_core.run_records import referenced_keys
from opc_core.workdir import OutputEntry, list_outputs


def _reachable(workdir: str) -> set[tuple[str, str]]:
    keep = set()
    todo = list(referenced_keys(workdir) | recorded_keys(workdir))
    while todo:
        stage, key = todo.pop()
        if (stage, key) in keep:
            continue
        keep.add((stage, key))
        m = try_read_manifest(storage.join(workdir, stage, key))
        if m is not None:
            todo.extend((ref.stage, ref.key) for ref in m.inputs.values())
    return keep


def collect_garbage(workdir: str, *, delete: bool = False) -> list[OutputEntry]:
    """The outputs that are unreferenced; deleted only when ``delete`` is true."""
    workdir = storage.normalize(workdir)
    keep = _reachable(workdir)
    garbage = [e for e in list_outputs(workdir) if (e.stage, e.key) not in keep]
    if delete:
        for entry in garbage:
            storage.remove(entry.uri)
    return garbage
