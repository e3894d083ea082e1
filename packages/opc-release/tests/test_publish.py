"""Publishing: folder and s3:// (the loopback S3 server), versioned and idempotent; the Hub code path offline."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from opc_core import storage
from opc_core.errors import OpcError
from opc_release.checksums import SUMS_FILE, write_sums
from opc_release.publish import publish
from opc_release.verify import verify_release


@pytest.fixture
def release_copy(released, tmp_path) -> Path:
    _, _, model_dir = released
    root = tmp_path / "model"
    shutil.copytree(model_dir, root)
    return root


def _change(root: Path) -> None:
    (root / "README.md").write_text((root / "README.md").read_text() + "\nedited\n")
    write_sums(root)


def test_folder_publish_is_versioned_idempotent_and_refuses_other_content(release_copy, tmp_path):
    dest = tmp_path / "published"
    first = publish(release_copy, str(dest))
    target = dest / "opc-tiny" / "0.1.0"
    assert first.action == "published" and Path(first.uri) == target
    assert sorted(p.name for p in target.iterdir()) == sorted(p.name for p in release_copy.iterdir())
    mtime = (target / "model.safetensors").stat().st_mtime_ns
    assert publish(release_copy, str(dest)).action == "unchanged"
    assert (target / "model.safetensors").stat().st_mtime_ns == mtime
    _change(release_copy)
    with pytest.raises(OpcError, match="already published there with different content"):
        publish(release_copy, str(dest))
    assert publish(release_copy, str(dest), force=True).action == "replaced"
    assert (target / "README.md").read_text().endswith("edited\n")


def test_a_release_failing_its_checksums_is_not_published(release_copy, tmp_path):
    (release_copy / "config.json").write_text("{}")
    with pytest.raises(OpcError, match="fails its checksums"):
        publish(release_copy, str(tmp_path / "pub"))


def test_s3_publish_then_verify_from_s3(release_copy, s3_bucket, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = publish(release_copy, f"{s3_bucket}/releases")
    assert result.uri == f"{s3_bucket}/releases/opc-tiny/0.1.0"
    assert storage.exists(storage.join(result.uri, SUMS_FILE))
    assert publish(release_copy, f"{s3_bucket}/releases").action == "unchanged"
    report = verify_release(result.uri)
    assert report.ok, report.lines()
    assert report.target == result.uri


class FakeHub:
    """Stands in for huggingface_hub.HfApi (the Hub is unreachable here); records every call."""

    def __init__(self, token: str, store: dict):
        self.token, self.store = token, store
        store.setdefault("calls", [])

    def repo_exists(self, repo_id):
        return repo_id in self.store.get("repos", {})

    def create_repo(self, repo_id, repo_type, exist_ok):
        self.store["calls"].append(("create_repo", repo_id))
        self.store.setdefault("repos", {})[repo_id] = {"tags": {}, "commits": {}}

    def upload_folder(self, repo_id, folder_path, repo_type, commit_message):
        repo = self.store["repos"][repo_id]
        oid = f"c{len(repo['commits'])}"
        repo["commits"][oid] = (Path(folder_path) / SUMS_FILE).read_bytes()
        self.store["calls"].append(("upload_folder", repo_id, commit_message))
        return SimpleNamespace(oid=oid)

    def list_repo_refs(self, repo_id):
        return SimpleNamespace(tags=[SimpleNamespace(name=t) for t in self.store["repos"][repo_id]["tags"]])

    def hf_hub_download(self, repo_id, filename, revision):
        repo = self.store["repos"][repo_id]
        path = Path(self.store["tmp"]) / f"{revision}-{filename}"
        path.write_bytes(repo["commits"][repo["tags"][revision]])
        return str(path)

    def create_tag(self, repo_id, tag, revision):
        self.store["calls"].append(("create_tag", repo_id, tag, revision))
        self.store["repos"][repo_id]["tags"][tag] = revision

    def delete_tag(self, repo_id, tag):
        self.store["calls"].append(("delete_tag", repo_id, tag))
        del self.store["repos"][repo_id]["tags"][tag]


def test_hub_publish_uses_the_env_token_tags_the_version_and_never_logs_the_token(
        release_copy, tmp_path, monkeypatch, caplog, capsys):
    secret = "hf_SECRETtoken1234567890"
    monkeypatch.setenv("HF_TOKEN", secret)
    store: dict = {"tmp": str(tmp_path)}
    make = lambda token: FakeHub(token, store)  # noqa: E731
    caplog.set_level(logging.DEBUG)
    first = publish(release_copy, "hf://opc-org/opc-tiny", make_hub_api=make)
    assert (first.action, first.uri) == ("published", "hf://opc-org/opc-tiny@v0.1.0")
    assert [c[0] for c in store["calls"]] == ["create_repo", "upload_folder", "create_tag"]
    assert store["calls"][2] == ("create_tag", "opc-org/opc-tiny", "v0.1.0", "c0")
    assert publish(release_copy, "hf://opc-org/opc-tiny", make_hub_api=make).action == "unchanged"
    assert len(store["calls"]) == 3
    _change(release_copy)
    with pytest.raises(OpcError, match="already has v0.1.0 with different content"):
        publish(release_copy, "hf://opc-org/opc-tiny", make_hub_api=make)
    assert publish(release_copy, "hf://opc-org/opc-tiny", force=True, make_hub_api=make).action == "replaced"
    assert [c[0] for c in store["calls"][3:]] == ["upload_folder", "delete_tag", "create_tag"]
    out = capsys.readouterr()
    assert secret not in caplog.text and secret not in out.out + out.err
    assert secret not in repr(first) and secret not in str(store["calls"])


def test_hub_publish_without_a_token_is_a_clear_error(release_copy, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    with pytest.raises(OpcError, match="set HF_TOKEN"):
        publish(release_copy, "hf://opc-org/opc-tiny", make_hub_api=lambda t: pytest.fail("no API without a token"))
    with pytest.raises(OpcError, match="hf://<org>/<repo>"):
        publish(release_copy, "hf://just-a-name")


def test_default_hub_client_is_huggingface_hub_with_the_token(monkeypatch):
    from huggingface_hub import HfApi

    from opc_release.publish import _default_hub_api

    api = _default_hub_api("hf_x")
    assert isinstance(api, HfApi) and api.token == "hf_x"
