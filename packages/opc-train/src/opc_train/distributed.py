"""Launching a training job: torchrun ranks (DDP, DeepSpeed ZeRO) running the same loop.

    pretrain stage ─▶ job.json {model_config, settings, train/val split, run_dir}
        nproc == 1, backend torch      ─▶ train() in this process
        otherwise                      ─▶ torchrun --nproc_per_node N -m opc_train.distributed job.json
                                            every rank: DistContext.from_env() ─▶ train(..., dist)

This module sits at the top of the training import graph (it runs the loop); the process-group
set-up it uses lives one level down in ``process_group.py`` (``DistContext``: NCCL on GPUs, gloo on
CPU, DeepSpeed's rendezvous defaults), because the loop itself needs the single-process context and
must not import its own launcher. The DeepSpeed config and checkpoint conversion belong to the
DeepSpeed engine (``engines.py``) and are re-exported here for existing callers. Not here: the
training step (``train_loop.py``, ``engines.py``), multi-node job specs (``infra/``).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

from opc_core.child_processes import popen_dying_with_parent
from opc_core.errors import OpcError
from opc_core.loopback import free_port
from opc_train.engines import convert_deepspeed_checkpoint, deepspeed_config
from opc_train.process_group import DistContext, deepspeed_env_defaults, default_extensions_dir

__all__ = ["DistContext", "convert_deepspeed_checkpoint", "deepspeed_config", "deepspeed_env_defaults",
           "free_port", "launch", "main", "run_job", "write_job"]


def write_job(path: Path, model_config, settings, train_uri: str, val_uri: str, run_dir: str,
              init_from: str | None = None, init_optimizer: bool = False) -> Path:
    """The job every rank reads (``init_from``/``init_optimizer``: an anneal branch's starting checkpoint)."""
    path.write_text(json.dumps({"model_config": model_config.to_dict(), "settings": settings.to_dict(),
                                "train_uri": train_uri, "val_uri": val_uri, "run_dir": str(run_dir),
                                "init_from": init_from, "init_optimizer": init_optimizer}, indent=2))
    return path


def run_job(job_path: str | Path) -> None:
    """One rank's work: join the group, open the splits, train."""
    from opc_train.model import ModelConfig
    from opc_train.token_shards import TokenShards
    from opc_train.train_loop import train
    from opc_train.train_settings import TrainSettings

    job = json.loads(Path(job_path).read_text())
    settings = TrainSettings.from_dict(job["settings"])
    dist = DistContext.from_env(settings.device, deepspeed=settings.backend == "deepspeed")
    try:
        train_shards = TokenShards.open(job["train_uri"])
        val_shards = TokenShards.open(job["val_uri"], expect=train_shards.fingerprint)
        train(ModelConfig.from_dict(job["model_config"]), settings, train_shards, val_shards, job["run_dir"], dist,
              init_from=job.get("init_from"), init_optimizer=job.get("init_optimizer", False))
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
    # torchrun gets SIGTERM if we die (kill -9 included) and then stops its workers: no orphaned ranks
    with popen_dying_with_parent(cmd, env=child_env, death_signal=signal.SIGTERM) as proc:
        proc.wait()
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
