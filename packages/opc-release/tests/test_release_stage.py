"""The release stage end to end, and `opc release verify` as a user runs it (a real subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from opc_release.checksums import parse_sums


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
    bad = _opc_verify(str(tampered))
    assert bad.returncode == 1
    assert "FAIL  checksums: generation_config.json: checksum mismatch" in bad.stdout
