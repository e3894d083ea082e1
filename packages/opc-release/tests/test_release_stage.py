"""The release stage end to end, and `opc release verify` as a user runs it (a real subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from opc_release.checksums import parse_sums
from opc_release.verify import verify_release


def test_stage_writes_a_complete_verified_hf_directory(released):
    ctx, result, model_dir = released
    assert result.artifact == "model"
    names = set(result.metrics["files"])
    assert {"config.json", "model.safetensors", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json", "README.md", "attribution.json", "opc_release.json", "SHA256SUMS"} <= names
    assert result.metrics["verify"] == {"checksums": True, "tokenizer": True, "load": True, "logits": True,
                                        "generate": True}
    assert set(parse_sums((model_dir / "SHA256SUMS").read_text())) == names - {"SHA256SUMS"}
    meta = json.loads((model_dir / "opc_release.json").read_text())
    assert (meta["name"], meta["version"], meta["release_key"]) == ("opc-tiny", "0.1.0", ctx.key)
    assert "released opc-tiny 0.1.0 at" in result.summary and str(model_dir) in result.summary


def _opc_verify(target: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "opc_core.cli", "release", "verify", target],
                          capture_output=True, text=True, env=env, timeout=300)


def test_opc_release_verify_passes_then_detects_tampering(released, tmp_path):
    import shutil

    _, _, model_dir = released
    ok = _opc_verify(str(model_dir))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    for check in ("checksums", "tokenizer", "load", "logits", "generate"):
        assert f"PASS  {check}:" in ok.stdout
    tampered = tmp_path / "tampered"
    shutil.copytree(model_dir, tampered)
    config = json.loads((tampered / "generation_config.json").read_text())
    config["do_sample"] = True
    (tampered / "generation_config.json").write_text(json.dumps(config))
    from typer.testing import CliRunner

    from opc_release.cli import app

    bad = CliRunner().invoke(app, ["verify", str(tampered)])  # in-process: one interpreter start is enough
    assert bad.exit_code == 1
    assert "FAIL  checksums: generation_config.json: checksum mismatch" in bad.output
    assert "PASS  logits:" in bad.output, "the other checks still run and are reported"


def test_stage_output_on_s3_holds_the_same_release(released, upstream, s3_bucket, monkeypatch):
    import dataclasses

    from opc_core import storage
    from opc_release.stage import STAGE, ReleaseConfig

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    local_ctx, _, model_dir = released
    key = "5353535353535353"
    ctx = dataclasses.replace(upstream.ctx(key=key), output_uri=f"{s3_bucket}/release/{key}")
    result = STAGE.run(ReleaseConfig(), ctx)
    assert result.artifact == "model" and result.metrics["verify"]["logits"]
    remote = f"{ctx.output_uri}/model"
    for name in ("model.safetensors", "tokenizer.json", "config.json", "attribution.json"):
        assert storage.read_bytes(f"{remote}/{name}") == (model_dir / name).read_bytes(), name
    assert f"release key `{key}`" in storage.read_text(f"{remote}/README.md")
    assert verify_release(remote).ok
