"""benchmarks/gpu_pretrain.sh cannot rot: its dry mode (CPU, tiny model, 2 steps) runs every case and
needs nothing beyond torch (no opc-core, pydantic, fsspec ...: a bare GPU box has only torch, numpy, safetensors)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_gpu_benchmark_dry_run_prints_one_table_and_needs_only_torch(tmp_path: Path) -> None:
    out = tmp_path / "rows.json"
    env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(["bash", str(REPO / "benchmarks" / "gpu_pretrain.sh"), "--dry", "--json", str(out)],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "MFU = (6*N + 12*n_layers*d_model*seq_len) * tokens/s / peak" in proc.stdout
    assert "peak used for MFU: 989 TFLOP/s dense bf16" in proc.stdout
    assert "imports beyond torch/numpy/safetensors: none" in proc.stdout
    rows = json.loads(out.read_text())
    trained = [r for r in rows if "tokens_per_s" in r and "skipped" not in r and not r["case"].startswith("vllm")]
    assert [(r["act_ckpt"], r["layers"]) for r in trained] == [("none", 4), ("full", 4), ("full", 4)]
    assert all(r["tokens_per_s"] > 0 and r["last_loss"] < r["first_loss"] for r in trained)
    assert trained[0]["first_loss"] == trained[1]["first_loss"]  # checkpointing changes memory, not the function
    assert rows[-1]["case"] == "vllm generation"


def test_memory_arithmetic_for_the_recipes_micro_batches() -> None:
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import gpu_pretrain
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    from opc_train.model_configs import MODEL_CONFIGS

    c15, c8 = MODEL_CONFIGS["opencoder-1.5b"], MODEL_CONFIGS["opencoder-8b"]
    none = gpu_pretrain.estimate_memory(c15, 4, 4096, "none")
    full = gpu_pretrain.estimate_memory(c15, 4, 4096, "full")
    assert abs(none["states"] - c15.num_params() * 18 / 2**30) < 1e-9 and none["states"] == full["states"]
    assert full["activations"] < none["activations"] / 5
    h200 = 141 * 2**30
    assert none["total"] < 0.85 * h200  # the 1.5B micro-batch 4 x 4096 fits one H200 without checkpointing
    assert 1 <= gpu_pretrain.layers_that_fit(c8, 1, 4096, "full", 0.85 * h200 - 4 * 2**30) < c8.n_layers
