"""The LLaMA-style decoder OpenCoder trains, in one file you can read top to bottom.

    idx [B, T] ─▶ model.embed_tokens ─▶ N x Block ─▶ model.norm ─▶ lm_head ─▶ logits [B, T, vocab]

    Block(x):  h = x + self_attn(input_layernorm(x))            grouped-query attention with RoPE
               out = h + mlp(post_attention_layernorm(h))        SwiGLU: down(silu(gate(x)) * up(x))

Parameter names and shapes are exactly those of ``transformers.LlamaForCausalLM`` (``model.layers.0.
self_attn.q_proj.weight``, ``lm_head.weight`` ...), with untied embeddings and no biases, so a
``state_dict()`` of ours loads into it unchanged (the release stage relies on this; a test checks the
logits match). RoPE is the "rotate half" form transformers uses, RMSNorm computes in fp32.

Incremental decoding: ``forward(idx, kv_cache=cache, start_pos=p)`` writes the new keys/values at
positions ``p..p+T-1`` of a preallocated ``KVCache`` and attends over ``0..p+T-1``.

Training: ``forward(idx, targets=y)`` returns the *summed* token cross-entropy (the train loop divides
by the global token count). It runs fused kernels that compute the same function faster: one matmul
for q/k/v and one for gate/up (weights concatenated on the fly, so the stored layout stays
LlamaForCausalLM's), and a chunked lm_head + cross-entropy that produces its gradients in the forward
pass (one softmax pass). The full [tokens, vocab] logits never exist: fp32 logits live for one chunk
of rows at a time (512 on CPU, 2048 on GPU), under bf16 autocast or bf16 weights the chunk's matmuls
run in bf16 and the weight gradient accumulates in fp32. For the 1.5B model at micro-batch 4 x 4096
that is 0.8 GB of fp32 logits instead of 6.3 GB (plus 3.2 GB of bf16 logits, and the same again for
their gradient). ``set_fused_kernels(False)`` gives the plain path (DeepSpeed ZeRO-3 needs it; a test
checks both paths agree).

Activation checkpointing per block (``set_activation_checkpointing``: none / full / selective) trades
recompute for memory without changing the function or its gradients (a test checks equal gradients).

Not here: sampling (``generation.py``), distributed wrapping (``distributed.py``), weight loading
from files (``checkpoint.py``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class ModelConfig:
    """The shape of a decoder. ``dim`` must divide by ``n_heads`` and ``n_heads`` by ``n_kv_heads``."""

    vocab_size: int
    dim: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    ffn_dim: int
    max_seq_len: int
    rope_theta: float = 10_000.0
    norm_eps: float = 1e-5
    init_std: float = 0.02

    def __post_init__(self) -> None:
        if self.dim % self.n_heads:
            raise ValueError(f"dim {self.dim} is not a multiple of n_heads {self.n_heads}")
        if self.n_heads % self.n_kv_heads:
            raise ValueError(f"n_heads {self.n_heads} is not a multiple of n_kv_heads {self.n_kv_heads}")

    @property
    def head_dim(self) -> int:
        return self.dim // self.n_heads

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown ModelConfig fields {sorted(unknown)}")
        return cls(**data)

    def replace(self, **changes: Any) -> ModelConfig:
        return ModelConfig.from_dict({**self.to_dict(), **changes})

    def to_hf_config(self) -> dict[str, Any]:
        """The ``config.json`` fields of the equivalent ``transformers.LlamaConfig``."""
        return {
            "architectures": ["LlamaForCausalLM"],
            "model_type": "llama",
            "vocab_size": self.vocab_size,
            "hidden_size": self.dim,
            "intermediate_size": self.ffn_dim,
            "num_hidden_layers": self.n_layers,
            "num_attention_heads": self.n_heads,
            "num_key_value_heads": self.n_kv_heads,
            "head_dim": self.head_dim,
            "max_position_embeddings": self.max_seq_len,
            "rope_theta": self.rope_theta,
            "rope_parameters": {"rope_type": "default", "rope_theta": self.rope_theta},
            "rms_norm_eps": self.norm_eps,
            "hidden_act": "silu",
            "tie_word_embeddings": False,
            "attention_bias": False,
            "mlp_bias": False,
            "initializer_range": self.init_std,
            "torch_dtype": "float32",
        }

    def num_params(self) -> int:
        """Parameter count (embeddings and lm_head included)."""
        d, hd = self.dim, self.head_dim
        attn = d * d * 2 + d * self.n_kv_heads * hd * 2
        per_layer = attn + 3 * d * self.ffn_dim + 2 * d
        return 2 * self.vocab_size * d + self.n_layers * per_layer + d

    def flops_per_token(self, seq_len: int) -> float:
        """Training FLOPs per token (forward + backward): 6 * non-embedding params + attention, as in PaLM."""
        n = self.num_params() - self.vocab_size * self.dim  # the input embedding is a lookup, not a matmul
        return 6.0 * n + 12.0 * self.n_layers * self.dim * seq_len


class RMSNorm(nn.Module):
    """x / rms(x) * weight, computed in fp32 like transformers (the weight multiplies in the input dtype)."""

    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.float32:
            return F.rms_norm(x, (x.shape[-1],), self.weight, self.eps)  # one fused kernel
        normed = F.rms_norm(x.float(), (x.shape[-1],), None, self.eps)
        return self.weight * normed.to(x.dtype)


def rope_tables(head_dim: int, max_seq_len: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin of shape [max_seq_len, head_dim] for the rotate-half RoPE (frequencies repeated twice)."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    t = torch.arange(max_seq_len, dtype=torch.int64).float()
    freqs = torch.outer(t, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x [B, H, T, D] rotated by position: x*cos + rotate_half(x)*sin, rotate_half(a, b) = (-b, a)."""
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos + rotated * sin


class KVCache:
    """Preallocated keys/values per layer: [B, n_kv_heads, max_len, head_dim]; positions beyond the
    last written one are garbage and never attended to."""

    def __init__(self, config: ModelConfig, batch_size: int, max_len: int, device=None, dtype=torch.float32) -> None:
        if max_len > config.max_seq_len:
            raise ValueError(f"cache length {max_len} exceeds the model's max_seq_len {config.max_seq_len}")
        shape = (batch_size, config.n_kv_heads, max_len, config.head_dim)
        self.k = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(config.n_layers)]
        self.v = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(config.n_layers)]
        self.max_len = max_len

    def update(self, layer: int, start_pos: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        end = start_pos + k.shape[2]
        if end > self.max_len:
            raise ValueError(f"KV cache full: position {end} > {self.max_len}")
        self.k[layer][:, :, start_pos:end] = k
        self.v[layer][:, :, start_pos:end] = v
        return self.k[layer][:, :, :end], self.v[layer][:, :, :end]


class Attention(nn.Module):
    def __init__(self, config: ModelConfig, layer: int) -> None:
        super().__init__()
        self.layer = layer
        self.n_heads, self.n_kv_heads, self.head_dim = config.n_heads, config.n_kv_heads, config.head_dim
        self.q_proj = nn.Linear(config.dim, config.n_heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(config.dim, config.n_kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(config.dim, config.n_kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(config.n_heads * self.head_dim, config.dim, bias=False)
        self.fused = False

    def forward(
        self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, kv_cache: KVCache | None, start_pos: int
    ) -> torch.Tensor:
        b, t, _ = x.shape
        if self.fused:  # one matmul for q, k and v (the weights are concatenated, not stored fused)
            w = torch.cat((self.q_proj.weight, self.k_proj.weight, self.v_proj.weight))
            q, k, v = F.linear(x, w).split(
                (self.n_heads * self.head_dim, self.n_kv_heads * self.head_dim, self.n_kv_heads * self.head_dim), -1
            )
        else:
            q, k, v = self.q_proj(x), self.k_proj(x), self.v_proj(x)
        q = q.view(b, t, self.n_heads, self.head_dim).transpose(1, 2)
        k = k.view(b, t, self.n_kv_heads, self.head_dim).transpose(1, 2)
        v = v.view(b, t, self.n_kv_heads, self.head_dim).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        mask = None
        is_causal = t > 1
        if kv_cache is not None:
            k, v = kv_cache.update(self.layer, start_pos, k, v)
            if start_pos > 0 and t > 1:  # queries at start_pos.. see every cached key up to their own position
                q_pos = torch.arange(start_pos, start_pos + t, device=x.device)[:, None]
                mask = torch.arange(k.shape[2], device=x.device)[None, :] <= q_pos
                is_causal = False
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, is_causal=is_causal, enable_gqa=self.n_kv_heads != self.n_heads
        )
        return self.o_proj(out.transpose(1, 2).reshape(b, t, self.n_heads * self.head_dim))


class MLP(nn.Module):
    """SwiGLU feed-forward."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(config.dim, config.ffn_dim, bias=False)
        self.up_proj = nn.Linear(config.dim, config.ffn_dim, bias=False)
        self.down_proj = nn.Linear(config.ffn_dim, config.dim, bias=False)
        self.fused = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fused:
            gate, up = F.linear(x, torch.cat((self.gate_proj.weight, self.up_proj.weight))).chunk(2, dim=-1)
        else:
            gate, up = self.gate_proj(x), self.up_proj(x)
        return self.down_proj(F.silu(gate) * up)


# Activation checkpointing modes (``Transformer.set_activation_checkpointing``):
#   none       keep every activation of every block for backward
#   full       keep only each block's input; backward re-runs the whole block forward
#   selective  keep the outputs of the matmuls and attention (the expensive ops); recompute norms,
#              RoPE, SiLU and the elementwise products (cheap, but they hold most of the bytes)
CHECKPOINT_MODES = ("none", "full", "selective")


def _selective_policy(ctx, op, *args, **kwargs):
    """Save what is expensive to recompute (matmuls, attention), recompute the rest."""
    from torch.utils.checkpoint import CheckpointPolicy

    if op in _SAVED_OPS:
        return CheckpointPolicy.MUST_SAVE
    return CheckpointPolicy.PREFER_RECOMPUTE


_SAVED_OPS = {
    getattr(torch.ops.aten, name).default
    for name in ("mm", "addmm", "bmm", "_scaled_dot_product_flash_attention", "_scaled_dot_product_efficient_attention",
                 "_scaled_dot_product_cudnn_attention", "_scaled_dot_product_flash_attention_for_cpu")
    if hasattr(torch.ops.aten, name)
}


def _selective_context():
    from torch.utils.checkpoint import create_selective_checkpoint_contexts

    return create_selective_checkpoint_contexts(_selective_policy)


class Block(nn.Module):
    def __init__(self, config: ModelConfig, layer: int) -> None:
        super().__init__()
        self.self_attn = Attention(config, layer)
        self.mlp = MLP(config)
        self.input_layernorm = RMSNorm(config.dim, config.norm_eps)
        self.post_attention_layernorm = RMSNorm(config.dim, config.norm_eps)
        self.checkpointing = "none"

    def forward(self, x, cos, sin, kv_cache, start_pos):
        # Checkpointing lives inside the block's forward so that per-block wrappers (FSDP2's hooks, a
        # compiled forward) see one call per block, and the checkpointed region is what gets compiled.
        if self.checkpointing != "none" and kv_cache is None and torch.is_grad_enabled():
            from torch.utils.checkpoint import checkpoint

            context = _selective_context if self.checkpointing == "selective" else None
            kwargs = {"context_fn": context} if context else {}
            return checkpoint(self._forward, x, cos, sin, None, start_pos, use_reentrant=False, **kwargs)
        return self._forward(x, cos, sin, kv_cache, start_pos)

    def _forward(self, x, cos, sin, kv_cache, start_pos):
        h = x + self.self_attn(self.input_layernorm(x), cos, sin, kv_cache, start_pos)
        return h + self.mlp(self.post_attention_layernorm(h))


class Decoder(nn.Module):
    """The ``model.`` prefix of LlamaForCausalLM: embeddings, blocks, final norm."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.embed_tokens = nn.Embedding(config.vocab_size, config.dim)
        self.layers = nn.ModuleList(Block(config, i) for i in range(config.n_layers))
        self.norm = RMSNorm(config.dim, config.norm_eps)


class _LinearCrossEntropy(torch.autograd.Function):
    """sum_i CE(h_i @ W^T, t_i) without materialising all logits: per chunk of rows, logits -> softmax ->
    (softmax - onehot) gives the gradients right away, so one exp pass replaces log_softmax forward +
    backward and the full-size logits / grad-logits tensors. Gradients are saved in forward; backward
    only scales them. Numerically the same function as F.cross_entropy (in fp32 bitwise the arithmetic
    the CPU runs have always used; with ``compute_dtype`` bf16 the matmuls are bf16 like autocast's)."""

    @staticmethod
    def forward(ctx, h: torch.Tensor, w: torch.Tensor, targets: torch.Tensor, ignore_index: int, chunk: int,
                compute_dtype: torch.dtype):
        n = h.shape[0]
        loss = torch.zeros((), dtype=torch.float32, device=h.device)
        grad_h = torch.empty_like(h)
        # fp32 throughout (CPU): matmuls straight into the outputs; otherwise fp32 accumulation of grad_w
        exact = h.dtype == w.dtype == compute_dtype == torch.float32
        grad_w = torch.zeros_like(w) if exact else torch.zeros(w.shape, dtype=torch.float32, device=w.device)
        wc = w if exact else w.to(compute_dtype)  # bf16 weights once, not per chunk
        with torch.autocast(h.device.type, enabled=False):  # the dtypes are chosen here, explicitly
            for s in range(0, n, chunk):
                hc, tc = h[s : s + chunk].to(compute_dtype), targets[s : s + chunk]
                logits = (hc @ wc.t()).float()  # fp32 logits for this chunk only
                valid = tc != ignore_index
                tgt = torch.where(valid, tc, torch.zeros_like(tc))
                logp = torch.log_softmax(logits, dim=-1)
                del logits
                loss -= (logp.gather(1, tgt[:, None]).squeeze(1) * valid).sum()
                probs = logp.exp_()  # in place: log-probabilities -> probabilities
                probs[torch.arange(probs.shape[0], device=h.device), tgt] -= 1.0
                probs.mul_(valid[:, None])
                g = probs.to(compute_dtype)
                del probs, logp
                if exact:
                    torch.mm(g, w, out=grad_h[s : s + chunk])
                    grad_w.addmm_(g.t(), hc)
                else:  # bf16 matmuls, fp32 accumulation of the weight gradient over chunks
                    grad_h[s : s + chunk] = g @ wc
                    grad_w += (g.t() @ hc).float()
        ctx.save_for_backward(grad_h, grad_w if exact else grad_w.to(w.dtype))
        return loss

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        grad_h, grad_w = ctx.saved_tensors
        return grad_h * grad_out, grad_w * grad_out, None, None, None, None


class Transformer(nn.Module):
    """The whole decoder; ``forward(idx, kv_cache=None, start_pos=0) -> logits [B, T, vocab]``."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.model = Decoder(config)
        self.lm_head = nn.Linear(config.dim, config.vocab_size, bias=False)
        cos, sin = rope_tables(config.head_dim, config.max_seq_len, config.rope_theta)
        # Not persistent: derived from the config, and absent from LlamaForCausalLM's state_dict.
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.loss_chunk = 512  # rows of fp32 logits alive at once in the training loss, CPU
        self.loss_chunk_gpu = 2048  # ... on GPU: 2048 x 96,640 x 4 B = 0.8 GB instead of 6.3 GB for 4 x 4096 rows
        self.set_fused_kernels(True)
        self.reset_parameters()

    def set_fused_kernels(self, enabled: bool) -> None:
        """Fused QKV / gate-up matmuls and the chunked loss read weights directly, bypassing submodule
        calls; DeepSpeed ZeRO-3 gathers a partitioned weight only when its module is called, so its
        adapter turns them off. Same function either way."""
        self.fused_kernels = enabled
        for block in self.model.layers:
            block.self_attn.fused = enabled
            block.mlp.fused = enabled

    def set_activation_checkpointing(self, mode: str) -> None:
        """``none`` | ``full`` | ``selective`` for every block (see ``CHECKPOINT_MODES``); training only:
        the same function and gradients, less activation memory, more recompute."""
        if mode not in CHECKPOINT_MODES:
            raise ValueError(f"activation_checkpointing must be one of {CHECKPOINT_MODES} (got {mode!r})")
        for block in self.model.layers:
            block.checkpointing = mode

    def reset_parameters(self) -> None:
        """Normal(0, init_std) for every matrix (transformers' LLaMA init), ones for the norms."""
        std = self.config.init_std
        for module in self.modules():
            if isinstance(module, nn.Linear | nn.Embedding):
                nn.init.normal_(module.weight, mean=0.0, std=std)
            elif isinstance(module, RMSNorm):
                nn.init.ones_(module.weight)

    def forward(
        self, idx: torch.Tensor, kv_cache: KVCache | None = None, start_pos: int = 0, targets: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Logits [B, T, vocab]; with ``targets`` [B, T] instead the summed cross-entropy (see ``loss``)."""
        h = self.hidden_states(idx, kv_cache, start_pos)
        if targets is None:
            return self.lm_head(h)
        h, t = h.reshape(-1, h.shape[-1]), targets.reshape(-1)
        if self.fused_kernels and torch.is_grad_enabled():
            device = h.device.type
            compute = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else self.lm_head.weight.dtype
            chunk = self.loss_chunk if device == "cpu" else self.loss_chunk_gpu
            return _LinearCrossEntropy.apply(h, self.lm_head.weight, t, -100, chunk, compute)
        logits = self.lm_head(h)
        return F.cross_entropy(logits.float(), t, ignore_index=-100, reduction="sum")

    def hidden_states(self, idx: torch.Tensor, kv_cache: KVCache | None = None, start_pos: int = 0) -> torch.Tensor:
        """The final-normed hidden states [B, T, dim] (what lm_head turns into logits)."""
        t = idx.shape[1]
        if start_pos + t > self.config.max_seq_len:
            raise ValueError(f"positions up to {start_pos + t} exceed max_seq_len {self.config.max_seq_len}")
        x = self.model.embed_tokens(idx)
        cos = self.rope_cos[start_pos : start_pos + t].to(x.dtype)
        sin = self.rope_sin[start_pos : start_pos + t].to(x.dtype)
        for block in self.model.layers:
            x = block(x, cos, sin, kv_cache, start_pos)
        return self.model.norm(x)

    def loss(self, idx: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Summed (not averaged) next-token cross-entropy in fp32 (targets of -100 are ignored); the caller
        divides by its token count, so gradient accumulation and data parallelism normalise by tokens."""
        return self.forward(idx, targets=targets)

    @torch.no_grad()
    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


def estimate_mfu(config: ModelConfig, seq_len: int, tokens_per_s: float, peak_flops: float) -> float:
    """Model FLOPs utilisation: achieved training FLOP/s over the hardware peak."""
    if peak_flops <= 0 or not math.isfinite(tokens_per_s):
        return 0.0
    return config.flops_per_token(seq_len) * tokens_per_s / peak_flops
