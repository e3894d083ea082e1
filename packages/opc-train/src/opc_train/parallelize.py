"""How a ``Transformer`` is prepared for fast training, per block: checkpointing, compile, FSDP2 sharding.

    model ─▶ apply_activation_checkpointing(mode)   none | full | selective, inside each block's forward
          ─▶ apply_compile()                         torch.compile of each block's forward (in place)
          ─▶ apply_fsdp(mesh, mixed precision)       fully_shard(block) for every block, then the root
                                                     (embeddings, final norm, lm_head as one unit)

The order is torchtitan's: checkpointing, then compile, then sharding, so each compiled region is one
block's (checkpointed) forward and FSDP2's all-gather/reduce-scatter hooks stay outside it, in eager
code. Everything here edits the model in place and keeps parameter names (no wrapper modules): a
state_dict still loads into ``LlamaForCausalLM`` and into an unprepared ``Transformer``.

Only torch is imported here (not opc-core), so ``benchmarks/gpu_pretrain.py`` runs these same functions
on a bare GPU box. Not here: the optimizer, checkpoints and the loop's engine interface (``fsdp_engine.py``).
"""

from __future__ import annotations

import torch

from opc_train.model import Transformer


def apply_activation_checkpointing(model: Transformer, mode: str) -> None:
    model.set_activation_checkpointing(mode)


def apply_compile(model: Transformer) -> None:
    """Compile each block's forward (the repeated structure compiles once and is reused by every layer).

    The compiled function replaces ``block.forward`` on the instance, so module hooks (FSDP2's) run in
    eager code around it and parameter names do not change. The loss (chunked lm_head + cross-entropy)
    stays eager: it is a hand-written autograd function that already avoids the full logits.
    """
    for block in model.model.layers:
        if not getattr(block, "_opc_compiled", False):
            block.forward = torch.compile(block.forward)
            block._opc_compiled = True


def compiled_blocks(model: Transformer) -> int:
    """How many blocks run a compiled forward (a test checks the recipe's ``compile`` is honoured)."""
    return sum(bool(getattr(block, "_opc_compiled", False)) for block in model.model.layers)


def mixed_precision_policy(device: torch.device):
    """bf16 parameters for compute with fp32 gradient reduction on CUDA; plain fp32 on CPU (exactness)."""
    from torch.distributed.fsdp import MixedPrecisionPolicy

    if device.type == "cuda":
        return MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32)
    return MixedPrecisionPolicy()


def apply_fsdp(model: Transformer, device: torch.device, world_size: int) -> None:
    """FSDP2: shard every block, then the root module; parameters become DTensors sharded on dim 0.

    Each block is gathered just before its forward and freed after it (``reshard_after_forward``), except
    the last, whose backward starts right away. Needs an initialised default process group (one rank is
    fine: ``process_group.ensure_process_group``).
    """
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    mesh = init_device_mesh(device.type, (world_size,))
    policy = mixed_precision_policy(device)
    layers = list(model.model.layers)
    for i, block in enumerate(layers):
        fully_shard(block, mesh=mesh, mp_policy=policy, reshard_after_forward=i < len(layers) - 1)
    fully_shard(model, mesh=mesh, mp_policy=policy)
