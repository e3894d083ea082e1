"""Publish a release directory: to a local folder, to s3://, or to the Hugging Face Hub, versioned.

    folder / s3://   <dest>/<name>/<version>/...files...   SHA256SUMS uploaded last (its presence = complete)
    hf://org/repo    one Hub repository per name; each version is a tag ``v<version>`` on the commit

Identity is ``(name, version)`` plus the content: the release's ``SHA256SUMS`` (which covers every
file, the model card with its content keys included). Publishing identical content again is a no-op;
different content under an existing name+version is refused unless ``force`` (then it is replaced, and
on the Hub the tag moves). The Hub token comes from ``HF_TOKEN`` (or ``HUGGING_FACE_HUB_TOKEN``) and
is handed to ``huggingface_hub`` only: it is never logged, printed, or written into a result.
This module does not build or verify releases (``stage.py``, ``verify.py``).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from opc_core import storage
from opc_core.errors import OpcError
from opc_core.remote_errors import explain_hub
from opc_release.checksums import SUMS_FILE, check_sums

log = logging.getLogger("opc.release")
TOKEN_VARS = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")


@dataclass
class PublishResult:
    destination: str
    uri: str
    action: str  # "published" | "unchanged" | "replaced"

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def release_identity(root: Path) -> dict[str, Any]:
    """``name``, ``version`` and ``release_key`` from ``opc_release.json``; refuses a dir failing its sums."""
    meta_path = root / "opc_release.json"
    if not meta_path.exists():
        raise OpcError("not a release directory (no opc_release.json)", where=str(root),
                       hint="publish the model/ folder of a release stage output")
    problems = check_sums(root)
    if problems:
        raise OpcError(f"refusing to publish a release that fails its checksums: {'; '.join(problems[:3])}",
                       where=str(root), hint="re-run `opc run release --force`")
    return json.loads(meta_path.read_text())


def publish(root: Path, dest: str, force: bool = False, make_hub_api: Callable[[str], Any] | None = None) -> PublishResult:
    """Publish ``root`` to ``dest`` (a folder, ``s3://bucket/prefix`` or ``hf://org/repo``)."""
    meta = release_identity(root)
    if dest.startswith("hf://"):
        try:
            return _publish_hub(root, dest[len("hf://"):].strip("/"), meta, force, make_hub_api)
        except OpcError:
            raise
        except Exception as exc:
            explained = explain_hub(exc, dest)
            if explained is None:
                raise
            raise explained from exc
    target = storage.join(storage.normalize(dest), meta["name"], meta["version"])
    ours = (root / SUMS_FILE).read_bytes()
    action = "published"
    sums_uri = storage.join(target, SUMS_FILE)
    if storage.exists(sums_uri):
        if storage.read_bytes(sums_uri) == ours:
            log.info("release %s %s is already at %s with identical content: nothing to do",
                     meta["name"], meta["version"], target)
            return PublishResult(dest, target, "unchanged")
        if not force:
            raise OpcError(
                f"{meta['name']} {meta['version']} is already published there with different content",
                where=target, hint="bump the recipe's version, or pass --force to replace it",
            )
        action = "replaced"
    storage.remove(target)  # also clears a half-finished earlier upload (no SHA256SUMS = incomplete)
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.name != SUMS_FILE):
        storage.write_bytes_atomic(storage.join(target, path.relative_to(root).as_posix()), path.read_bytes())
    storage.write_bytes_atomic(sums_uri, ours)
    log.info("release %s %s %s to %s", meta["name"], meta["version"], action, target)
    return PublishResult(dest, target, action)


def hub_token() -> str:
    for var in TOKEN_VARS:
        if os.environ.get(var):
            return os.environ[var]
    raise OpcError("no Hugging Face token in the environment", hint=f"set {TOKEN_VARS[0]} (a write token) and retry")


def _default_hub_api(token: str) -> Any:
    from huggingface_hub import HfApi

    return HfApi(token=token, endpoint=os.environ.get("HF_ENDPOINT") or None)  # read now, not at import


def _publish_hub(root: Path, repo_id: str, meta: dict[str, Any], force: bool,
                 make_hub_api: Callable[[str], Any] | None) -> PublishResult:
    if repo_id.count("/") != 1:
        raise OpcError(f"hub destination must be hf://<org>/<repo> (got hf://{repo_id})")
    api = (make_hub_api or _default_hub_api)(hub_token())
    tag = f"v{meta['version']}"
    uri = f"hf://{repo_id}@{tag}"
    action = "published"
    if api.repo_exists(repo_id):
        tags = {t.name for t in api.list_repo_refs(repo_id).tags}
        if tag in tags:
            remote = Path(api.hf_hub_download(repo_id, SUMS_FILE, revision=tag)).read_bytes()
            if remote == (root / SUMS_FILE).read_bytes():
                log.info("release %s is already on the Hub at %s with identical content: nothing to do", tag, repo_id)
                return PublishResult(f"hf://{repo_id}", uri, "unchanged")
            if not force:
                raise OpcError(f"{repo_id} already has {tag} with different content", where=f"hf://{repo_id}",
                               hint="bump the recipe's version, or pass --force to move the tag")
            action = "replaced"
    else:
        api.create_repo(repo_id, repo_type="model", exist_ok=True)
    commit = api.upload_folder(repo_id=repo_id, folder_path=str(root), repo_type="model",
                               commit_message=f"{meta['name']} {meta['version']} (release key {meta['release_key']})")
    if action == "replaced":
        api.delete_tag(repo_id, tag=tag)
    api.create_tag(repo_id, tag=tag, revision=commit.oid)
    log.info("release %s %s %s to hf://%s (tag %s)", meta["name"], meta["version"], action, repo_id, tag)
    return PublishResult(f"hf://{repo_id}", uri, action)
