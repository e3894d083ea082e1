"""metrics.jsonl and, when the recipe asks, the same step values as TensorBoard events."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from opc_train.metrics import MetricsLog, memory_record, read_metrics


def test_tensorboard_events_carry_the_step_metrics_and_jsonl_is_unchanged(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    log = MetricsLog(tmp_path / "metrics.jsonl", True, None, tensorboard_dir=tmp_path / "tensorboard")
    for step in (1, 2, 3):
        log.write({"step": step, "loss": 5.0 - step, "grad_norm": 0.5, "mfu": 0.41, **memory_record(torch.device("cpu"))})
    log.write({"step": 3, "val_loss": 1.5})
    log.close()
    rows = read_metrics(tmp_path / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2, 3, 3] and rows[0]["max_rss_gb"] > 0
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"train/loss", "train/grad_norm", "train/mfu", "train/max_rss_gb", "val/loss"} <= tags
    assert [(e.step, e.value) for e in events.Scalars("train/loss")] == [(1, 4.0), (2, 3.0), (3, 2.0)]


def test_resume_drops_lines_after_the_checkpoint_and_no_tensorboard_without_the_flag(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_text("".join(json.dumps({"step": s, "loss": 1.0}) + "\n" for s in range(1, 8)))
    log = MetricsLog(path, True, resume_step=5)
    log.close()
    assert [r["step"] for r in read_metrics(path)] == [1, 2, 3, 4, 5]
    assert not (tmp_path / "tensorboard").exists()
