"""Content addressing, after Marin's executor: an output's path is a hash of what produced it.

    key         = sha256(stage name, resolved stage config, {role: input fingerprint},
                         external fingerprint, stage code version)[:16]
    fingerprint = sha256(sorted (relative path, sha256(file bytes)) of the output, minus volatile files)

Same key => same work => the stage is skipped. The key uses the inputs' *fingerprints*, not their
keys: a deterministic redo of an upstream stage (same bytes) leaves everything downstream cached,
while a change that alters upstream bytes recomputes downstream. Timings and host never enter either.
"""

from __future__ import annotations

import fnmatch
import hashlib
import importlib.util
import json
from functools import cache
from pathlib import Path
from typing import Any

from opc_core import storage
from opc_core.manifest import MANIFEST_NAME

KEY_LENGTH = 16


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)


def content_key(
    stage: str, config: dict[str, Any], input_fingerprints: dict[str, str], external: str | None, code_version: str
) -> str:
    payload = canonical_json(
        {"stage": stage, "config": config, "inputs": input_fingerprints, "external": external, "code": code_version}
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:KEY_LENGTH]


@cache
def code_version(*modules: str) -> str:
    """A hash of the source of the given modules: the code that computes a stage's output, not its deps.

    A package name (``opc_data``) hashes its whole tree, data files included (rule tables, language maps);
    a module name (``opc_train.model``) hashes that file, plus the ``__init__.py`` of each package above
    it, since importing the module runs them. ``opc_core.import_graph`` checks (in the tests) that a
    stage's list covers every first-party module its code can import.
    """
    h = hashlib.sha256()
    files: dict[str, Path] = {}
    for module in sorted(set(modules)):
        spec = importlib.util.find_spec(module)
        if spec is None:
            raise ValueError(f"code_modules names {module!r}, which is not importable")
        if spec.submodule_search_locations:
            for root in spec.submodule_search_locations:
                for file in sorted(Path(root).rglob("*")):
                    if file.is_file() and file.suffix in _CODE_SUFFIXES and "__pycache__" not in file.parts:
                        files[f"{module}/{file.relative_to(root).as_posix()}"] = file
        elif spec.origin:
            files[module] = Path(spec.origin)
        parts = module.split(".")
        for i in range(1, len(parts)):
            parent = importlib.util.find_spec(".".join(parts[:i]))
            if parent is not None and parent.origin:
                files[".".join(parts[:i]) + "/__init__.py"] = Path(parent.origin)
    for name in sorted(files):
        h.update(name.encode())
        h.update(hashlib.sha256(files[name].read_bytes()).digest())
    return h.hexdigest()[:KEY_LENGTH]


_CODE_SUFFIXES = {".py", ".json", ".tsv", ".yaml", ".txt", ".jinja"}


def _is_volatile(rel: str, volatile: tuple[str, ...]) -> bool:
    return rel == MANIFEST_NAME or any(fnmatch.fnmatch(rel, pat) for pat in volatile)


def output_fingerprint(output_uri: str, volatile: tuple[str, ...] = ()) -> tuple[str, int, int]:
    """(fingerprint, total bytes, file count) of everything under ``output_uri``."""
    h = hashlib.sha256()
    total = 0
    count = 0
    fs, root = storage.filesystem(output_uri)
    for rel in storage.list_files(output_uri):
        path = f"{root.rstrip('/')}/{rel}"
        size = fs.size(path) or 0
        total += size
        count += 1
        if _is_volatile(rel, volatile):
            continue
        file_hash = hashlib.sha256()
        with fs.open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                file_hash.update(chunk)
        h.update(rel.encode("utf-8") + b"\0" + file_hash.digest())
    return h.hexdigest()[:32], total, count
