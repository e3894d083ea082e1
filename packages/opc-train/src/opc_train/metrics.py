"""What a training run reports: ``metrics.jsonl``, the MFU peak table, the loss plot.

    train loop ─▶ MetricsLog.write({step, loss, lr, grad_norm, tokens, tokens_per_s, mfu})   rank 0 only
               ─▶ MetricsLog.write({step, val_loss})
    end of run ─▶ plot_metrics(metrics.jsonl) ─▶ loss.png

``metrics.jsonl`` is one JSON object per line, flushed per line, so a killed run leaves every step it
logged; on resume the lines after the checkpoint's step are dropped (the resumed run logs them
again, identically on CPU). A step line carries: ``loss`` (mean token loss of the global batch),
``lr``, ``grad_norm`` (before clipping), ``tokens`` (seen so far), ``tokens_per_s`` (all ranks) and
``tokens_per_s_per_device``, ``mfu`` (when the device peak is known: ``PEAK_FLOPS`` or the recipe's
``peak_flops``), and memory: ``max_memory_gb`` (CUDA: peak allocated by torch on this rank) or
``max_rss_gb`` (CPU: the process's peak resident set).

MFU = flops_per_token(seq_len) x tokens/s / (peak x devices), flops_per_token = 6 N + 12 L d T with N
the parameters other than the input embedding (the lm_head counts), L layers, d model width, T the
sequence length (PaLM's estimate; ``ModelConfig.flops_per_token``).

With ``tensorboard: true`` the same step values also go to TensorBoard event files in
``<run>/tensorboard/`` (``torch.utils.tensorboard``; needs the ``tensorboard`` package, the opc-train
``tensorboard`` extra). Event files are append-only: a resumed run's events after the checkpoint
step appear twice there (metrics.jsonl is the record). Not here: the stage's summary metrics
(``pretrain_stage.py``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from opc_train.train_settings import TrainSettings

# Dense bf16 peak FLOP/s per device, for the MFU estimate (override with TrainSettings.peak_flops).
PEAK_FLOPS = {"NVIDIA H100": 989e12, "NVIDIA H200": 989e12, "NVIDIA A100": 312e12}


def peak_flops(settings: TrainSettings, device: torch.device) -> float | None:
    """The per-device peak for MFU: the recipe's ``peak_flops``, else the known GPU's, else None (no MFU)."""
    if settings.peak_flops:
        return settings.peak_flops
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        return next((v for k, v in PEAK_FLOPS.items() if name.startswith(k)), None)
    return None


class MetricsLog:
    """``metrics.jsonl`` (rank 0 only), one JSON object per line, flushed per line."""

    def __init__(self, path: Path, enabled: bool, resume_step: int | None, tensorboard_dir: Path | None = None) -> None:
        self.path = path
        self.enabled = enabled
        self.tensorboard = None
        if enabled:
            lines = path.read_text().splitlines() if (resume_step is not None and path.exists()) else []
            kept = [ln for ln in lines if ln.strip() and json.loads(ln)["step"] <= (resume_step or 0)]
            path.write_text("".join(ln + "\n" for ln in kept))
            self.file = open(path, "a")  # noqa: SIM115 - closed in close()
            if tensorboard_dir is not None:
                self.tensorboard = _summary_writer(tensorboard_dir)

    def write(self, record: dict[str, Any]) -> None:
        if self.enabled:
            self.file.write(json.dumps(record, sort_keys=True) + "\n")
            self.file.flush()
            if self.tensorboard is not None:
                for key, value in record.items():
                    if key != "step" and isinstance(value, int | float):
                        self.tensorboard.add_scalar(f"train/{key}" if key != "val_loss" else "val/loss", value,
                                                    record["step"])
                self.tensorboard.flush()

    def close(self) -> None:
        if self.enabled:
            self.file.close()
            if self.tensorboard is not None:
                self.tensorboard.close()


def _summary_writer(log_dir: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as exc:
        from opc_core.errors import OpcError

        raise OpcError("tensorboard: true needs the tensorboard package", where="stages.pretrain.tensorboard",
                       hint="pip install 'opc-train[tensorboard]' (tensorboard==2.21.0), or set tensorboard: false") from exc
    return SummaryWriter(log_dir=str(log_dir))


def memory_record(device: torch.device) -> dict[str, float]:
    """Peak memory so far: torch's peak allocation on this CUDA device, or the process's peak RSS on CPU."""
    if device.type == "cuda":
        return {"max_memory_gb": round(torch.cuda.max_memory_allocated(device) / 2**30, 3)}
    import resource

    return {"max_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3)}  # KiB on Linux


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    from opc_core.jsonl import read_jsonl

    return read_jsonl(path, "training metrics")


def plot_metrics(metrics_path: Path, out_png: Path, unigram: float | None = None, title: str = "") -> None:
    """Training and validation loss against step, the unigram baseline as a line, the learning rate on a
    second axis; one legend names all of them (the stage passes a title with recipe and model)."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_metrics(metrics_path)
    train = [r for r in rows if "loss" in r]
    val = [r for r in rows if "val_loss" in r]
    fig, ax = plt.subplots(figsize=(7.5, 4.6), dpi=100)
    ax.plot([r["step"] for r in train], [r["loss"] for r in train], label="train loss", lw=1)
    if val:
        ax.plot([r["step"] for r in val], [r["val_loss"] for r in val], "o-", label="val loss", ms=3)
    if unigram is not None:
        ax.axhline(unigram, color="tab:red", ls="--", lw=1, label=f"unigram baseline (val) {unigram:.3f}")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (nats/token)")
    ax2 = ax.twinx()
    ax2.plot([r["step"] for r in train], [r["lr"] for r in train], color="grey", alpha=0.6, lw=1,
             label="learning rate (right axis)")
    ax2.set_ylabel("learning rate")
    ax2.ticklabel_format(axis="y", style="sci", scilimits=(-2, 2))
    handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    # below the axes, so it hides no curve
    ax.legend(handles, [h.get_label() for h in handles], loc="upper center", bbox_to_anchor=(0.5, -0.14),
              ncol=2, fontsize=8, frameon=False)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(out_png, metadata={"Software": None})
    plt.close(fig)
