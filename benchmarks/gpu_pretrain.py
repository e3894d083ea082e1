"""GPU pretraining throughput: the 1.5B and 8B models with FSDP2 + bf16 + compile, one table.

    bash benchmarks/gpu_pretrain.sh                 # one GPU, <= ~4 minutes, prints one table
    bash benchmarks/gpu_pretrain.sh --dry           # CPU, tiny model, 2 steps (what the test runs)
    PYTHON=python3 bash benchmarks/gpu_pretrain.sh --measure-activations   # CPU: saved bytes per token

Runs on a bare GPU box with only the machine's PyTorch plus numpy and safetensors (vLLM optional): it
imports the model and the per-block preparation straight from ``packages/opc-train/src``
(``model.py``, ``parallelize.py``, ``optimizer.py``: torch only) and sets up nothing else.

Cases (one GPU, one process, FSDP2 over a 1-rank mesh, bf16 params / fp32 reduce, bf16 autocast,
compiled blocks, AdamW, random tokens):
    1.5B  full depth (24 layers), micro-batch 4 x seq 4096, activation checkpointing none, then full
    8B    as many of its 32 layers as fit (the count is computed from the memory arithmetic below and
          printed), micro-batch 1 x seq 4096, activation checkpointing full
    vLLM  if ``import vllm`` works: greedy generation on a small model written in our release format
          (config.json + model.safetensors, random weights, no tokenizer), tokens/s; in a subprocess

Each case runs ``--steps`` optimizer steps (default 20); the first ``--warmup`` (3, compile) are not
timed; tokens/s is the median of the rest.

    MFU = (6 N + 12 L d T) x tokens/s / peak        N: parameters except the input embedding
                                                     (the lm_head counts), L layers, d width, T seq len
    peak = 989 TFLOP/s dense bf16 (H100/H200; A100: 312; --peak-tflops to override)

Memory arithmetic (bytes), used for the 8B layer count and printed for comparison with the measured peak:
    states     18 per parameter: fp32 master 4 + fp32 grad 4 + Adam m, v 8 + bf16 gathered copy 2
    loss       fp32 weight-gradient buffer of the lm_head (4 V d) + one chunk of fp32 logits (4 x 2048 x V)
    activations per layer, per token, bf16 autocast, fp32 residual stream: ~36 d + 8 ffn with no
               checkpointing (x, norms, q/k/v, RoPE, attention out, h, gate/up/silu/product), ~16 d + 4 ffn
               selective (matmul and attention outputs), 4 d full (+ one layer's worth during its recompute).
               ``--measure-activations`` measures them on CPU with one block of the 1.5B (seq 512 minus 256,
               so per-layer constants drop out). Measured 2026-12-04 (torch 2.13 CPU, bf16 autocast):
                   none 120,896 B (model: 129,792)   selective 60,472 B (60,416)   full 8,960 B (8,960)
               -> the 1.5B at micro-batch 4 x 4096 (16,384 tokens x 24 layers): 44.3 / 22.1 / 3.3 GiB.

    The 1.5B, micro-batch 4 x 4096, one GPU (no sharding): states 1.906e9 x 18 B = 32.0 GiB, loss 1.5 GiB,
    activations 44.3 GiB measured (47.5 by the model; none) -> ~78-81 GiB: fits an H200 (141 GB), not an 80 GB
    H100 (there: selective, ~56 GiB, or full, ~39 GiB). The 8B at 1 x 4096 with full checkpointing: 24 of
    its 32 layers fit an H200 by this arithmetic (~106 GiB), 11 an H100. MFU goal for the 1.5B at seq 4096:
    45% of 989 TFLOP/s / 12.78 GFLOP per token = ~34,800 tokens/s on one GPU. Over the recipe's 8 GPUs
    the states shrink to 4.0 GiB: ~50 GiB with no checkpointing, room to spare on an H100. The loss before the chunking: bf16 logits 3.0 GiB + fp32
    copy 5.9 GiB + fp32 log-softmax kept for backward 5.9 GiB + fp32/bf16 gradients 8.9 GiB, ~15-24 GiB at
    its peak, now 1.5 GiB.
Not measured here: multi-GPU scaling (communication), the data pipeline (random tokens on device).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "packages" / "opc-train" / "src"))

import torch  # noqa: E402

from opc_train.model import ModelConfig, Transformer  # noqa: E402
from opc_train.model_configs import MODEL_CONFIGS  # noqa: E402
from opc_train.optimizer import build_optimizer  # noqa: E402
from opc_train.parallelize import apply_activation_checkpointing, apply_compile, apply_fsdp  # noqa: E402
from opc_train.process_group import ensure_process_group  # noqa: E402
from opc_train.train_settings import TrainSettings  # noqa: E402
from opc_train.wsd_schedule import WSDSchedule  # noqa: E402

PEAKS = {"NVIDIA H100": 989e12, "NVIDIA H200": 989e12, "NVIDIA A100": 312e12}
BYTES_PER_PARAM = 18


def estimate_memory(config: ModelConfig, micro: int, seq: int, checkpointing: str) -> dict[str, float]:
    """The arithmetic of the module docstring, in GiB."""
    d, v, ffn, layers = config.dim, config.vocab_size, config.ffn_dim, config.n_layers
    tokens = micro * seq
    states = config.num_params() * BYTES_PER_PARAM
    loss = 4 * v * d + 4 * min(2048, tokens) * v
    per_layer_full = tokens * (36 * d + 8 * ffn)
    if checkpointing == "none":
        acts = layers * per_layer_full
    elif checkpointing == "selective":  # matmul / attention outputs kept, the rest recomputed
        acts = layers * tokens * (16 * d + 4 * ffn)
    else:  # full: block inputs, plus one block recomputed at a time
        acts = layers * tokens * 4 * d + per_layer_full
    gib = 2**30
    return {"states": states / gib, "loss": loss / gib, "activations": acts / gib,
            "total": (states + loss + acts) / gib}


def layers_that_fit(config: ModelConfig, micro: int, seq: int, checkpointing: str, budget_bytes: float) -> int:
    for n in range(config.n_layers, 0, -1):
        if estimate_memory(config.replace(n_layers=n), micro, seq, checkpointing)["total"] * 2**30 <= budget_bytes:
            return n
    return 1


def run_case(name: str, config: ModelConfig, micro: int, seq: int, checkpointing: str, compile_: bool,
             steps: int, warmup: int, device: torch.device, peak: float) -> dict:
    torch.manual_seed(0)
    with torch.device(device):
        model = Transformer(config)  # initialised on the device: an 8B init on the CPU takes minutes
    apply_activation_checkpointing(model, checkpointing)
    if compile_:
        apply_compile(model)
    apply_fsdp(model, device, world_size=1)
    settings = TrainSettings(max_steps=steps, seq_len=seq, micro_batch_size=micro,
                             schedule=WSDSchedule(peak_lr=3e-4, total_steps=steps))
    optimizer = build_optimizer(model, settings)
    g = torch.Generator(device="cpu").manual_seed(0)
    x = torch.randint(0, config.vocab_size, (micro, seq), generator=g).to(device)
    y = torch.randint(0, config.vocab_size, (micro, seq), generator=g).to(device)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else torch.autocast(
        "cpu", enabled=False)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times, losses = [], []
    for _ in range(steps):
        t0 = time.perf_counter()
        with autocast:
            loss = model(x, targets=y)
        (loss / y.numel()).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()) / y.numel())  # syncs the device
        times.append(time.perf_counter() - t0)
    timed = times[warmup:] or times
    tps = micro * seq / statistics.median(timed)
    mfu = config.flops_per_token(seq) * tps / peak
    peak_mem = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")
    est = estimate_memory(config, micro, seq, checkpointing)["total"]
    row = {"case": name, "layers": config.n_layers, "params_b": round(config.num_params() / 1e9, 3),
           "batch": f"{micro}x{seq}", "act_ckpt": checkpointing, "compile": compile_,
           "tokens_per_s": round(tps, 1), "mfu": round(mfu, 4), "peak_mem_gib": round(peak_mem, 2),
           "est_mem_gib": round(est, 2), "first_loss": round(losses[0], 4), "last_loss": round(losses[-1], 4),
           "compile_s": round(sum(times[:warmup]), 1)}
    del model, optimizer, x, y, loss
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
    torch._dynamo.reset()
    return row


def vllm_case(dry: bool) -> dict:
    """Greedy generation through vLLM on a small model in our release layout, in a subprocess."""
    try:
        import importlib.util

        if importlib.util.find_spec("vllm") is None:
            return {"case": "vllm generation", "skipped": "vllm is not importable"}
    except (ImportError, ValueError):
        return {"case": "vllm generation", "skipped": "vllm is not importable"}
    if dry:
        return {"case": "vllm generation", "skipped": "dry run (CPU)"}
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, __file__, "--vllm-child", tmp], capture_output=True, text=True,
                             timeout=300)
        lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
        if out.returncode != 0 or not lines:
            return {"case": "vllm generation", "skipped": f"failed: {out.stderr.strip().splitlines()[-1:]}"}
        return json.loads(lines[-1])


def _vllm_child(tmp: str) -> None:
    from safetensors.torch import save_file
    from vllm import LLM, SamplingParams
    from vllm.inputs import TokensPrompt

    config = MODEL_CONFIGS["tiny"].replace(n_heads=2, n_kv_heads=1, max_seq_len=1024)  # head_dim 64
    torch.manual_seed(0)
    model = Transformer(config)
    (Path(tmp) / "config.json").write_text(json.dumps(config.to_hf_config()))
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(Path(tmp) / "model.safetensors"))
    llm = LLM(model=tmp, skip_tokenizer_init=True, enforce_eager=True, gpu_memory_utilization=0.3, seed=0,
              dtype="bfloat16", max_model_len=1024)
    prompts = [TokensPrompt(prompt_token_ids=[(i * 7 + j) % 8000 + 3 for j in range(32)]) for i in range(64)]
    params = SamplingParams(max_tokens=256, temperature=0.0, ignore_eos=True, detokenize=False)
    llm.generate(prompts[:4], params)  # warm-up
    t0 = time.perf_counter()
    outs = llm.generate(prompts, params)
    dt = time.perf_counter() - t0
    n = sum(len(o.outputs[0].token_ids) for o in outs)
    print(json.dumps({"case": "vllm generation", "model": f"tiny {config.num_params() / 1e6:.1f}M (random weights)",
                      "batch": "64 prompts x 256 new tokens", "tokens_per_s": round(n / dt, 1)}))


def measure_activations(model: Transformer, checkpointing: str, seq: int) -> int:
    """Bytes of distinct tensors saved for backward by one block (forward at ``seq`` tokens, bf16 autocast)."""
    saved: dict[int, int] = {}

    def pack(t: torch.Tensor):
        storage = t.untyped_storage()
        saved[storage.data_ptr()] = storage.nbytes()  # a tensor saved by several ops counts once
        return t

    model.set_activation_checkpointing(checkpointing)
    x = torch.randint(0, model.config.vocab_size, (1, seq))
    with torch.no_grad():
        h0 = model.model.embed_tokens(x)
    h0.requires_grad_(True)
    cos, sin = model.rope_cos[:seq], model.rope_sin[:seq]
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), torch.autocast("cpu", dtype=torch.bfloat16):
        out = model.model.layers[0](h0, cos, sin, None, 0)
    out.float().sum().backward()
    return sum(saved.values())


def measure_selective(model: Transformer, seq: int) -> int:
    """Selective checkpointing keeps its saved outputs in its own cache (invisible to saved-tensor hooks):
    count the block input plus the outputs of the ops its policy saves (matmuls, attention)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    from opc_train.model import _SAVED_OPS

    class Count(TorchDispatchMode):
        total = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            if func in _SAVED_OPS:
                for t in out if isinstance(out, tuple | list) else (out,):
                    if isinstance(t, torch.Tensor):
                        Count.total += t.numel() * t.element_size()
            return out

    model.set_activation_checkpointing("none")
    x = torch.randint(0, model.config.vocab_size, (1, seq))
    with torch.no_grad():
        h0 = model.model.embed_tokens(x)
    cos, sin = model.rope_cos[:seq], model.rope_sin[:seq]
    with Count(), torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        model.model.layers[0](h0, cos, sin, None, 0)
    return Count.total + h0.numel() * h0.element_size()


def per_token_activation_bytes(checkpointing: str) -> float:
    """Saved bytes per token per layer of the 1.5B block: the difference between two sequence lengths, so
    per-layer constants (the bf16 weight copies autocast saves) drop out."""
    model = _one_layer_15b()
    if checkpointing == "selective":
        return (measure_selective(model, 512) - measure_selective(model, 256)) / 256
    return (measure_activations(model, checkpointing, 512) - measure_activations(model, checkpointing, 256)) / 256


_ONE_LAYER: list[Transformer] = []


def _one_layer_15b() -> Transformer:
    if not _ONE_LAYER:
        torch.manual_seed(0)
        _ONE_LAYER.append(Transformer(MODEL_CONFIGS["opencoder-1.5b"].replace(n_layers=1)))
    return _ONE_LAYER[0]


def print_table(rows: list[dict], peak: float, device: str) -> None:
    print(f"\ndevice: {device}; peak used for MFU: {peak / 1e12:.0f} TFLOP/s dense bf16")
    print("MFU = (6*N + 12*n_layers*d_model*seq_len) * tokens/s / peak, N = parameters except the input embedding")
    cols = ["case", "layers", "params_b", "batch", "act_ckpt", "compile", "tokens_per_s", "mfu", "peak_mem_gib",
            "est_mem_gib", "compile_s", "first_loss", "last_loss"]
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in cols}
    print(" | ".join(c.ljust(widths[c]) for c in cols))
    print("-+-".join("-" * widths[c] for c in cols))
    for r in rows:
        if "skipped" in r:
            print(f"{r['case']}: skipped ({r['skipped']})")
        elif r["case"].startswith("vllm"):
            print(f"{r['case']}: {r['tokens_per_s']} tokens/s ({r['model']}, {r['batch']})")
        else:
            print(" | ".join(str(r.get(c, "")).ljust(widths[c]) for c in cols))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dry", action="store_true", help="CPU, tiny model, 2 steps, no compile")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--seq", type=int, default=4096)
    p.add_argument("--peak-tflops", type=float, default=None)
    p.add_argument("--no-compile", action="store_true")
    p.add_argument("--json", type=Path, default=None, help="also write the rows here")
    p.add_argument("--measure-activations", action="store_true")
    p.add_argument("--vllm-child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.vllm_child:
        _vllm_child(args.vllm_child)
        return
    if args.measure_activations:
        torch.set_num_threads(max(1, os.cpu_count() or 1))
        c = MODEL_CONFIGS["opencoder-1.5b"]
        model_bytes = 36 * c.dim + 8 * c.ffn_dim
        print(f"1.5B block, bf16 autocast on CPU (seq 512 minus seq 256): saved bytes per token per layer "
              f"(model in the docstring: none ~{model_bytes}, full ~{4 * c.dim})")
        for mode in ("none", "selective", "full"):
            b = per_token_activation_bytes(mode)
            print(f"  {mode:9s} {b:10.0f} B/token/layer -> 1.5B x 24 layers x 4 x 4096 tokens: "
                  f"{b * 24 * 4 * 4096 / 2**30:6.1f} GiB")
        return

    dry = args.dry
    device = torch.device("cuda" if torch.cuda.is_available() and not dry else "cpu")
    if device.type == "cpu" and not dry:
        raise SystemExit("no CUDA device: run with --dry for the CPU smoke run")
    ensure_process_group(device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    peak = (args.peak_tflops * 1e12 if args.peak_tflops else
            next((v for k, v in PEAKS.items() if name.startswith(k)), 989e12))
    compile_ = not (dry or args.no_compile)
    steps, warmup = (2, 0) if dry else (args.steps, args.warmup)
    if dry:
        tiny = MODEL_CONFIGS["tiny"].replace(vocab_size=512, max_seq_len=64)
        c15, c8, seq, micro15 = tiny, tiny.replace(n_heads=4, n_kv_heads=1), 64, 2
        n8 = c8.n_layers
    else:
        c15, c8, seq, micro15 = MODEL_CONFIGS["opencoder-1.5b"], MODEL_CONFIGS["opencoder-8b"], args.seq, 4
        total = torch.cuda.get_device_properties(device).total_memory
        n8 = layers_that_fit(c8, 1, seq, "full", 0.85 * total - 4 * 2**30)
    label = "dry tiny as " if dry else ""
    rows = []
    for ckpt in ("none", "full"):
        rows.append(run_case(f"{label}1.5B", c15, micro15, seq, ckpt, compile_, steps, warmup, device, peak))
        print(json.dumps(rows[-1]), flush=True)
    rows.append(run_case(f"{label}8B ({n8}/{MODEL_CONFIGS['opencoder-8b'].n_layers} layers)", c8.replace(n_layers=n8), 1,
                         seq, "full", compile_, steps, warmup, device, peak))
    print(json.dumps(rows[-1]), flush=True)
    rows.append(vllm_case(dry))
    print_table(rows, peak, name)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    if dry:
        heavy = sorted(m for m in ("opc_core", "pydantic", "yaml", "fsspec", "pyarrow", "transformers", "deepspeed")
                       if m in sys.modules)
        print(f"imports beyond torch/numpy/safetensors: {heavy or 'none'}")


if __name__ == "__main__":
    main()
