"""Run records: which outputs each recipe's latest run points at (what ``opc gc`` must keep).

``<workdir>/_runs/<recipe name>.json`` maps stage -> key of the latest run of that stage under that
recipe, with the time it was recorded. Only keys, never content: the manifests hold the rest.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from opc_core import storage


def runs_uri(workdir: str) -> str:
    return storage.join(workdir, "_runs")


def record_run(recipe, stage: str, key: str) -> None:
    uri = storage.join(runs_uri(recipe.workdir), f"{recipe.name}.json")
    record = storage.read_json(uri) if storage.exists(uri) else {"recipe": recipe.name, "stages": {}}
    record["stages"][stage] = {"key": key, "recorded": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    storage.write_text_atomic(uri, json.dumps(record, indent=2, sort_keys=True) + "\n")


def referenced_keys(workdir: str) -> set[tuple[str, str]]:
    """(stage, key) pairs named by any run record under ``workdir``."""
    keys: set[tuple[str, str]] = set()
    for rel in storage.list_files(runs_uri(workdir)):
        if rel.endswith(".json"):
            record = storage.read_json(storage.join(runs_uri(workdir), rel))
            for stage, entry in record.get("stages", {}).items():
                keys.add((stage, entry["key"]))
    return keys
