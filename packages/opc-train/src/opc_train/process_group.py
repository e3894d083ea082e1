"""This process's place in a training job: rank, world size, device, and the few collectives the loop uses.

    one process            DistContext.single()            rank 0 of 1, collectives are no-ops
    torchrun / deepspeed   DistContext.from_env()          joins the group the launcher described
                                                          (NCCL on GPUs, gloo on CPU)

DeepSpeed on CPU needs the rendezvous variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
MASTER_PORT) even in one process: ``deepspeed_env_defaults`` sets them, plus a cached
``TORCH_EXTENSIONS_DIR`` for the shared-memory comm op DeepSpeed JIT-compiles on its first start.
Imports only torch at module level, so ``benchmarks/gpu_pretrain.py`` can use it on a bare GPU box.
Not here: starting processes (``distributed.py``), what a backend does with the group (``engines.py``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch


@dataclass
class DistContext:
    """This process's place in the job; collective helpers that are no-ops in a single process."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device | None = None
    initialised: bool = False

    @classmethod
    def single(cls, device: torch.device | None = None) -> DistContext:
        return cls(device=device)

    @classmethod
    def from_env(cls, device_setting: str = "auto", deepspeed: bool = False) -> DistContext:
        """Join the process group torchrun (or the deepspeed launcher) described in the environment."""
        import torch.distributed as tdist

        world = int(os.environ.get("WORLD_SIZE", "1"))
        if deepspeed:
            deepspeed_env_defaults()
            world = int(os.environ["WORLD_SIZE"])
        use_cuda = torch.cuda.is_available() and device_setting in ("auto", "cuda")
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        device = torch.device(f"cuda:{local_rank}") if use_cuda else torch.device("cpu")
        if use_cuda:
            torch.cuda.set_device(device)
        if world == 1 and not deepspeed:
            return cls(device=device)
        if not tdist.is_initialized():
            backend = "nccl" if use_cuda else "gloo"
            if deepspeed:
                import deepspeed as ds

                ds.init_distributed(dist_backend=backend)
            else:
                tdist.init_process_group(backend=backend)
        return cls(tdist.get_rank(), tdist.get_world_size(), local_rank, device, initialised=True)

    def barrier(self) -> None:
        if self.initialised:
            import torch.distributed as tdist

            tdist.barrier()

    def all_reduce_sum(self, tensor: torch.Tensor) -> None:
        if self.initialised and self.world_size > 1:
            import torch.distributed as tdist

            tdist.all_reduce(tensor, op=tdist.ReduceOp.SUM)

    def sum_int(self, value: int) -> int:
        if not (self.initialised and self.world_size > 1):
            return value
        t = torch.tensor([value], dtype=torch.int64, device=self.device)
        self.all_reduce_sum(t)
        return int(t.item())

    def shutdown(self) -> None:
        if self.initialised:
            import torch.distributed as tdist

            tdist.destroy_process_group()
            self.initialised = False


def ensure_process_group(device: torch.device) -> None:
    """A default process group even in a single process (FSDP2 needs one): one rank, an in-memory store."""
    import torch.distributed as tdist

    if not tdist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        tdist.init_process_group(backend, store=tdist.HashStore(), rank=0, world_size=1)


def default_extensions_dir() -> str:
    return str(Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "opc" / "torch_extensions")


def deepspeed_env_defaults() -> None:
    """What DeepSpeed needs to start without MPI in a single process (and a cached JIT dir)."""
    from opc_core.loopback import free_port  # here, not at the top: this module stays torch-only (benchmarks)

    for key, value in (("RANK", "0"), ("WORLD_SIZE", "1"), ("LOCAL_RANK", "0"), ("MASTER_ADDR", "127.0.0.1")):
        os.environ.setdefault(key, value)
    os.environ.setdefault("MASTER_PORT", str(free_port()))
    os.environ.setdefault("TORCH_EXTENSIONS_DIR", default_extensions_dir())
