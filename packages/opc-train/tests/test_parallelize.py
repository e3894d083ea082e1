"""Per-block training features: activation checkpointing keeps the gradients, the loss never builds the
full logits (also in bf16), and ``compile`` is honoured by every engine or refused loudly."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from opc_core.errors import OpcError
from opc_train.engines import PlainEngine, build_engine, check_engine_settings
from opc_train.model import ModelConfig, Transformer
from opc_train.parallelize import compiled_blocks
from opc_train.process_group import DistContext

_spec = importlib.util.spec_from_file_location("train_worker", Path(__file__).with_name("train_worker.py"))
worker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(worker)
CONFIG = ModelConfig(vocab_size=300, dim=64, n_layers=3, n_heads=4, n_kv_heads=2, ffn_dim=96, max_seq_len=32)


def _grads(mode: str, autocast: bool = False, fused: bool = True) -> tuple[float, dict[str, torch.Tensor]]:
    torch.manual_seed(0)
    model = Transformer(CONFIG)
    model.set_activation_checkpointing(mode)
    model.set_fused_kernels(fused)
    model.loss_chunk = 40
    g = torch.Generator().manual_seed(1)
    idx, targets = torch.randint(0, 300, (3, 32), generator=g), torch.randint(0, 300, (3, 32), generator=g)
    targets[1, :7] = -100
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        loss = model.loss(idx, targets)
    loss.backward()
    return loss.item(), {n: p.grad.clone() for n, p in model.named_parameters()}


@pytest.mark.parametrize("mode", ["full", "selective"])
def test_activation_checkpointing_gives_bitwise_equal_loss_and_gradients(mode: str) -> None:
    loss, grads = _grads("none")
    loss_ac, grads_ac = _grads(mode)
    assert loss_ac == loss
    assert all(torch.equal(grads_ac[n], grads[n]) for n in grads)


def test_activation_checkpointing_mode_is_validated() -> None:
    with pytest.raises(ValueError, match="activation_checkpointing"):
        Transformer(CONFIG).set_activation_checkpointing("most")


class _LargestOutput(TorchDispatchMode):
    """Records the largest tensor any op produces."""

    def __init__(self) -> None:
        super().__init__()
        self.largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, tuple | list) else (out,):
            if isinstance(t, torch.Tensor):
                self.largest = max(self.largest, t.numel())
        return out


@pytest.mark.parametrize("autocast", [False, True], ids=["fp32", "bf16-autocast"])
def test_training_loss_never_materialises_the_full_logits(autocast: bool) -> None:
    torch.manual_seed(0)
    model = Transformer(CONFIG)
    model.loss_chunk = 16
    idx, targets = torch.randint(0, 300, (4, 32)), torch.randint(0, 300, (4, 32))
    with _LargestOutput() as probe, torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        model.loss(idx, targets).backward()
    n_rows = idx.numel()
    assert probe.largest < n_rows * CONFIG.vocab_size  # the full [tokens, vocab] logits never existed
    # the largest are the fused gate|up activations [tokens, 2 x ffn], not anything of vocabulary width
    assert probe.largest <= max(16 * CONFIG.vocab_size, CONFIG.vocab_size * CONFIG.dim, n_rows * 2 * CONFIG.ffn_dim)


def test_chunked_loss_in_bf16_matches_the_plain_bf16_loss() -> None:
    fused_loss, fused = _grads("none", autocast=True, fused=True)
    plain_loss, plain = _grads("none", autocast=True, fused=False)
    assert abs(fused_loss - plain_loss) <= 1e-3 * plain_loss
    for n in plain:  # bf16 matmuls: agreement at bf16 precision, not bitwise
        assert (fused[n] - plain[n]).norm() <= 2e-2 * plain[n].norm(), n


def test_compile_with_deepspeed_zero3_is_refused_not_ignored() -> None:
    s = worker.settings(backend="deepspeed", zero_stage=3, compile=True)
    with pytest.raises(OpcError, match="compile: true cannot be honoured with DeepSpeed ZeRO-3"):
        check_engine_settings(s)
    with pytest.raises(OpcError, match="backend is 'fsdp'"):
        check_engine_settings(worker.settings(backend="fsdp", zero_stage=2))
    from pydantic import ValidationError

    from opc_train.pretrain_stage import PretrainConfig

    with pytest.raises(ValidationError, match="ZeRO-3"):
        PretrainConfig(backend="deepspeed", zero_stage=3, compile=True)
    with pytest.raises(ValidationError, match="DeepSpeed settings"):
        PretrainConfig(backend="torch", zero_stage=1)


@pytest.mark.slow
def test_compile_is_honoured_by_the_plain_engine_same_steps_as_eager() -> None:
    """Every block runs a compiled forward, and two optimizer steps give the eager losses."""
    torch.manual_seed(0)
    x, y = torch.randint(0, 256, (4, 32)), torch.randint(0, 256, (4, 32))
    losses = {}
    for compile_ in (False, True):
        torch.manual_seed(0)
        model = Transformer(worker.MODEL)
        engine = build_engine(model, worker.settings(compile=compile_), DistContext.single())
        assert isinstance(engine, PlainEngine) and compiled_blocks(model) == (worker.MODEL.n_layers if compile_ else 0)
        losses[compile_] = []
        for _ in range(2):
            loss = engine.forward_loss(x, y)
            engine.backward(loss, y.numel())
            engine.step(1e-3)
            losses[compile_].append(loss.item())
    for eager, compiled in zip(losses[False], losses[True], strict=True):
        assert abs(eager - compiled) <= 1e-4 * eager


@pytest.mark.slow
@pytest.mark.deepspeed
def test_compile_is_honoured_by_deepspeed_zero1_in_one_process(monkeypatch) -> None:
    from opc_core.loopback import free_port

    repo = Path(__file__).resolve().parents[3]
    for key, value in (("RANK", "0"), ("WORLD_SIZE", "1"), ("LOCAL_RANK", "0"), ("MASTER_ADDR", "127.0.0.1"),
                       ("MASTER_PORT", str(free_port())),
                       ("TORCH_EXTENSIONS_DIR", str(repo / ".cache" / "torch_extensions"))):
        monkeypatch.setenv(key, value)
    dist = DistContext.from_env("cpu", deepspeed=True)
    try:
        torch.manual_seed(0)
        model = Transformer(worker.MODEL)
        engine = build_engine(model, worker.settings(backend="deepspeed", zero_stage=1, compile=True), dist)
        assert compiled_blocks(model) == worker.MODEL.n_layers
        x, y = torch.randint(0, 256, (8, 32)), torch.randint(0, 256, (8, 32))
        first = engine.forward_loss(x, y)
        engine.backward(first, y.numel())
        second = engine.forward_loss(x, y)
        assert second.item() < first.item()  # the step through the compiled blocks trained
    finally:
        dist.shutdown()
