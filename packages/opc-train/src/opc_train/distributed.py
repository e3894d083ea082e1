"""Scale-out with the same model and loop: torchrun DDP, DeepSpeed ZeRO 1/2/3, and their launching.

    pretrain stage ─▶ job.json {model_config, settings, train/val split, run_dir}
        nproc == 1, backend torch      ─▶ train() in this process
        otherwise                      ─▶ torchrun --nproc_per_node N -m opc_train.distributed job.json
                                            every rank: DistContext.from_env() ─▶ train(..., dist)

Process groups use NCCL on GPUs and gloo on CPU (what runs here). DeepSpeed gets a config generated
from the recipe (``deepspeed_config``: micro batch, accumulation, clipping, ZeRO stage, bf16 on GPU)
and a plain ``torch.optim.AdamW``, so no fused-Adam extension is compiled; on CPU it also needs the
rendezvous variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) even in one process:
``deepspeed_env_defaults`` sets them. Its first start JIT-compiles a shared-memory comm op into
``TORCH_EXTENSIONS_DIR`` (cached after that).

DeepSpeed checkpoints are DeepSpeed's own (``checkpoints/deepspeed/<tag>/``, ``latest`` written
after the tag is complete); they resume under DeepSpeed, and ``convert_deepspeed_checkpoint`` turns
one into our plain format (fp32 weights + trainer state; the optimizer moments are not converted, so
a plain-torch continuation starts fresh Adam moments). Not here: the training step itself
(``train_loop.py``), multi-node job specs (``infra/``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from opc_core.errors import OpcError
from opc_core.loopback import free_port


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


def default_extensions_dir() -> str:
    return str(Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "opc" / "torch_extensions")


def deepspeed_env_defaults() -> None:
    """What DeepSpeed needs to start without MPI in a single process (and a cached JIT dir)."""
    for key, value in (("RANK", "0"), ("WORLD_SIZE", "1"), ("LOCAL_RANK", "0"), ("MASTER_ADDR", "127.0.0.1")):
        os.environ.setdefault(key, value)
    os.environ.setdefault("MASTER_PORT", str(free_port()))
    os.environ.setdefault("TORCH_EXTENSIONS_DIR", default_extensions_dir())


def deepspeed_config(settings, world_size: int, cuda: bool) -> dict[str, Any]:
    """The DeepSpeed JSON config, generated from the recipe's training settings."""
    if settings.zero_stage not in (0, 1, 2, 3):
        raise OpcError(f"zero_stage must be 0, 1, 2 or 3 (got {settings.zero_stage})", where="stages.pretrain.zero_stage")
    config: dict[str, Any] = {
        "train_micro_batch_size_per_gpu": settings.micro_batch_size,
        "gradient_accumulation_steps": settings.grad_accum_steps,
        "train_batch_size": settings.micro_batch_size * settings.grad_accum_steps * world_size,
        "gradient_clipping": settings.grad_clip,
        "zero_optimization": {"stage": settings.zero_stage},
        "zero_allow_untested_optimizer": True,  # a plain torch AdamW: no fused_adam JIT build
        "bf16": {"enabled": bool(cuda)},
        "steps_per_print": 1 << 30,
        "wall_clock_breakdown": False,
    }
    for key, value in settings.deepspeed_config.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    return config


class DeepSpeedEngineAdapter:
    """The train loop's engine interface over a DeepSpeed engine (ZeRO 0-3)."""

    def __init__(self, model, settings, dist: DistContext) -> None:
        import deepspeed

        from opc_train.train_loop import build_optimizer

        self.model = model
        self.settings = settings
        self.dist = dist
        cuda = next(model.parameters()).device.type == "cuda"
        self.ds_config = deepspeed_config(settings, dist.world_size, cuda)
        model.set_fused_kernels(False)  # ZeRO-3 gathers weights per called submodule (see model.py)
        optimizer = build_optimizer(model, settings)
        self.engine, self.optimizer, _, _ = deepspeed.initialize(
            model=model, optimizer=optimizer, config=self.ds_config, dist_init_required=False
        )
        self._grad_norm = 0.0

    def micro_context(self, last: bool):
        import contextlib

        return contextlib.nullcontext()

    def forward_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        logits = self.engine(x)
        return torch.nn.functional.cross_entropy(
            logits.float().view(-1, logits.shape[-1]), y.reshape(-1), ignore_index=-100, reduction="sum"
        )

    def backward(self, loss_sum: torch.Tensor, n_tokens_global: int) -> None:
        # DeepSpeed divides by the accumulation steps and averages over ranks: undo both, then
        # normalise by the global token count.
        scale = self.dist.world_size * self.settings.grad_accum_steps / n_tokens_global
        self.engine.backward(loss_sum * scale)
        at_boundary = self.engine.is_gradient_accumulation_boundary()
        self.engine.step()
        if at_boundary:
            norm = self.engine.get_global_grad_norm()
            self._grad_norm = float(norm) if norm is not None else float("nan")

    def set_lr(self, lr: float) -> None:
        for g in self.engine.optimizer.param_groups:
            g["lr"] = lr

    def step(self, lr: float) -> float:
        return self._grad_norm

    def eval_module(self):
        return self.engine

    def full_state_dict(self) -> dict[str, torch.Tensor]:
        if self.settings.zero_stage == 3:
            import deepspeed

            with deepspeed.zero.GatheredParameters(list(self.model.parameters()), modifier_rank=None):
                return {k: v.detach().clone().float().cpu() for k, v in self.model.state_dict().items()}
        return {k: v.detach().float().cpu() for k, v in self.model.state_dict().items()}

    def save(self, run_dir: Path, state) -> None:
        ds_dir = Path(run_dir) / "checkpoints" / "deepspeed"
        self.engine.save_checkpoint(str(ds_dir), tag=f"step-{state.step:08d}",
                                    client_state={"trainer_state": state.__dict__})
        self.dist.barrier()

    def load(self, run_dir: Path):
        from opc_train.checkpoint import TrainerState

        ds_dir = Path(run_dir) / "checkpoints" / "deepspeed"
        if not (ds_dir / "latest").exists():
            return None
        path, client = self.engine.load_checkpoint(str(ds_dir))
        if path is None:
            raise OpcError("DeepSpeed could not load its latest checkpoint", where=str(ds_dir),
                           hint="delete the incomplete tag named in `latest`, or the whole folder to start anew")
        return TrainerState(**client["trainer_state"])


def convert_deepspeed_checkpoint(ds_dir: str | Path, out_run_dir: str | Path, tag: str | None = None) -> Path:
    """A DeepSpeed (any ZeRO stage) checkpoint -> our ``checkpoints/step-N`` (fp32 weights + trainer
    state, no optimizer moments) under ``out_run_dir``; load_checkpoint/load_final-compatible."""
    from deepspeed.utils.zero_to_fp32 import get_fp32_state_dict_from_zero_checkpoint

    from opc_train.checkpoint import TrainerState, save_checkpoint

    ds_dir = Path(ds_dir)
    tag = tag or (ds_dir / "latest").read_text().strip()
    weights = get_fp32_state_dict_from_zero_checkpoint(str(ds_dir), tag=tag)
    model_states = sorted((ds_dir / tag).glob("*model_states.pt"))
    if not model_states:
        raise OpcError("no model_states file in the DeepSpeed checkpoint", where=str(ds_dir / tag))
    client = torch.load(model_states[0], weights_only=False, map_location="cpu")
    state = TrainerState(**client["trainer_state"])
    weights = {k: v.float().contiguous() for k, v in weights.items()}
    return save_checkpoint(out_run_dir, weights, None, state, keep_last=1 << 30)


# --- launching -------------------------------------------------------------------------------------------


def write_job(path: Path, model_config, settings, train_uri: str, val_uri: str, run_dir: str) -> Path:
    path.write_text(json.dumps({"model_config": model_config.to_dict(), "settings": settings.to_dict(),
                                "train_uri": train_uri, "val_uri": val_uri, "run_dir": str(run_dir)}, indent=2))
    return path


def run_job(job_path: str | Path) -> None:
    """One rank's work: join the group, open the splits, train."""
    from opc_train.model import ModelConfig
    from opc_train.token_shards import TokenShards
    from opc_train.train_loop import TrainSettings, train

    job = json.loads(Path(job_path).read_text())
    settings = TrainSettings.from_dict(job["settings"])
    dist = DistContext.from_env(settings.device, deepspeed=settings.backend == "deepspeed")
    try:
        train_shards = TokenShards.open(job["train_uri"])
        val_shards = TokenShards.open(job["val_uri"], expect=train_shards.fingerprint)
        train(ModelConfig.from_dict(job["model_config"]), settings, train_shards, val_shards, job["run_dir"], dist)
    finally:
        dist.shutdown()


def launch(job_path: Path, nproc: int, env: dict[str, str] | None = None) -> None:
    """Run the job under torchrun with ``nproc`` processes on this node (raises on failure)."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc),
           "--master_addr", "127.0.0.1", "--master_port", str(free_port()),
           "-m", "opc_train.distributed", str(job_path)]
    child_env = {**os.environ, **(env or {})}
    child_env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    child_env.setdefault("TORCH_EXTENSIONS_DIR", default_extensions_dir())
    proc = subprocess.run(cmd, env=child_env)
    if proc.returncode != 0:
        raise OpcError(f"torchrun exited with code {proc.returncode}", where=str(job_path),
                       hint="see the rank logs above; the run resumes from its last checkpoint when re-run")


def main(argv: list[str] | None = None) -> None:
    args = [a for a in (argv if argv is not None else sys.argv[1:]) if not a.startswith("--local_rank")]
    if len(args) != 1:
        raise SystemExit("usage: python -m opc_train.distributed JOB.json  (under torchrun or deepspeed)")
    from opc_core.progress import setup_logging

    setup_logging()
    run_job(args[0])
    # Everything is written and the process group is destroyed: leave without running C++ static
    # destructors. Background threads of gloo / DeepSpeed's shm comm op can otherwise abort the worker at
    # interpreter exit ("terminate called without an active exception"), turning a finished run into a
    # failed launch (seen once on a loaded 2-core box).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
