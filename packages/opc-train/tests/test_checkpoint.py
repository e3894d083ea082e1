"""Checkpoints: a crash mid-save leaves the previous one usable; retention; the final model round trip."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import torch

from opc_train.checkpoint import (
    TrainerState,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    load_final,
    rng_state,
    save_checkpoint,
    save_final,
)
from opc_train.model import ModelConfig, Transformer

CONFIG = ModelConfig(vocab_size=64, dim=32, n_layers=1, n_heads=2, n_kv_heads=1, ffn_dim=64, max_seq_len=16)


def _state(step: int) -> TrainerState:
    return TrainerState(step=step, tokens_seen=step * 100, schedule={"kind": "wsd"}, loader={"epoch": 0, "pos": step},
                        rng=rng_state(), model_config=CONFIG.to_dict(), extra={})


def _save(run_dir: Path, step: int, seed: int, **kw) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    model = Transformer(CONFIG)
    opt = torch.optim.AdamW(model.parameters())
    model(torch.randint(0, 64, (1, 8))).sum().backward()
    opt.step()
    save_checkpoint(run_dir, model.state_dict(), opt.state_dict(), _state(step), **kw)
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_sigkill_during_save_leaves_previous_checkpoint_latest_and_loadable(tmp_path: Path) -> None:
    weights_10 = _save(tmp_path, 10, seed=0)
    # A second process starts saving step 20 and is killed after the weights file, before the rest.
    script = textwrap.dedent(f"""
        import os, signal, torch
        from opc_train import checkpoint as ck
        from opc_train.model import ModelConfig, Transformer
        real_save = torch.save
        def dying_save(obj, path, *a, **k):
            real_save(obj, path, *a, **k)
            os.kill(os.getpid(), signal.SIGKILL)   # mid-checkpoint: optimizer.pt written, the rest not
        torch.save = dying_save
        cfg = ModelConfig.from_dict({CONFIG.to_dict()!r})
        m = Transformer(cfg)
        st = ck.TrainerState(step=20, tokens_seen=0, schedule={{}}, loader={{}}, rng=ck.rng_state(),
                             model_config=cfg.to_dict(), extra={{}})
        ck.save_checkpoint({str(tmp_path)!r}, m.state_dict(), {{"state": {{}}, "param_groups": []}}, st)
    """)
    proc = subprocess.run([sys.executable, "-c", script], env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == -9
    leftovers = [p.name for p in (tmp_path / "checkpoints").iterdir()]
    assert any(name.startswith(".tmp-step-00000020") for name in leftovers), leftovers
    assert latest_checkpoint(tmp_path).name == "step-00000010"
    weights, opt, state = load_checkpoint(latest_checkpoint(tmp_path))
    assert state.step == 10 and state.loader == {"epoch": 0, "pos": 10} and opt is not None
    assert all(torch.equal(weights[k], weights_10[k]) for k in weights_10)
    # the next successful save sweeps the dead temp folder
    _save(tmp_path, 30, seed=1)
    names = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert names == ["step-00000010", "step-00000030"]


def test_keep_last_n_plus_milestones(tmp_path: Path) -> None:
    for step in range(5, 55, 5):
        _save(tmp_path, step, seed=step, keep_last=2, milestone_every=20)
    assert [s for s, _ in list_checkpoints(tmp_path)] == [20, 40, 45, 50]


def test_resaving_a_step_replaces_it_whole(tmp_path: Path) -> None:
    _save(tmp_path, 10, seed=0)
    w = _save(tmp_path, 10, seed=5)
    weights, _, _ = load_checkpoint(latest_checkpoint(tmp_path))
    assert all(torch.equal(weights[k], w[k]) for k in w)
    assert [p.name for p in (tmp_path / "checkpoints").iterdir()] == ["step-00000010"]


def test_load_final_returns_the_saved_model_in_eval_mode(tmp_path: Path) -> None:
    torch.manual_seed(4)
    model = Transformer(CONFIG)
    save_final(tmp_path, model.state_dict(), CONFIG)
    loaded, config = load_final(str(tmp_path))
    assert config == CONFIG and not loaded.training
    idx = torch.randint(0, 64, (2, 16))
    with torch.no_grad():
        assert torch.equal(loaded(idx), model(idx))
