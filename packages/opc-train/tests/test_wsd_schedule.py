"""Schedule shapes: learning-rate values at the boundary steps of every phase."""

from __future__ import annotations

import math

import pytest

from opc_train.cosine_schedule import CosineSchedule, schedule_from_dict
from opc_train.wsd_schedule import WSDSchedule


def test_wsd_warmup_reaches_peak_on_last_warmup_step_and_holds_it() -> None:
    s = WSDSchedule(peak_lr=1e-3, total_steps=100, warmup_steps=10, decay_steps=20, min_lr=1e-4)
    assert s.lr(0) == pytest.approx(1e-4)
    assert s.lr(4) == pytest.approx(5e-4)
    assert s.lr(9) == pytest.approx(1e-3)
    assert s.lr(10) == s.lr(50) == s.lr(79) == pytest.approx(1e-3)
    assert [s.phase(i) for i in (9, 10, 79, 80)] == ["warmup", "stable", "stable", "decay"]


@pytest.mark.parametrize(
    ("shape", "mid"),
    [("linear", 0.5), ("cosine", 0.5), ("1-sqrt", 1 - math.sqrt(0.25))],
)
def test_wsd_decay_shapes_at_start_quarter_middle_and_end(shape: str, mid: float) -> None:
    peak, low = 1.0, 0.1
    s = WSDSchedule(peak_lr=peak, total_steps=100, warmup_steps=10, decay_steps=20, decay_shape=shape, min_lr=low)
    assert s.lr(80) == pytest.approx(peak)  # first decay step: p = 0
    p_quarter = 0.25
    expected_quarter = {
        "linear": 1 - p_quarter,
        "cosine": 0.5 * (1 + math.cos(math.pi * p_quarter)),
        "1-sqrt": 1 - math.sqrt(p_quarter),
    }[shape]
    assert s.lr(85) == pytest.approx(low + (peak - low) * expected_quarter)
    if shape != "1-sqrt":
        assert s.lr(90) == pytest.approx(low + (peak - low) * mid)
    assert s.lr(99) > low
    assert s.lr(100) == s.lr(1000) == pytest.approx(low)
    lrs = [s.lr(i) for i in range(80, 101)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:], strict=False))  # monotone decay


def test_wsd_decay_can_start_from_any_stable_step_for_annealing() -> None:
    base = WSDSchedule(peak_lr=2e-3, total_steps=1000, warmup_steps=50, decay_steps=100, decay_shape="linear")
    branch = base.anneal_from(300, decay_steps=40)
    assert branch.decay_start == 300 and branch.total_steps == 340
    assert [branch.lr(i) for i in (299, 300)] == [pytest.approx(2e-3), pytest.approx(2e-3)]
    assert branch.lr(310) == pytest.approx(2e-3 * 0.75)
    assert branch.lr(340) == 0.0
    # the branch agrees with the base schedule up to the branching step
    assert all(branch.lr(i) == base.lr(i) for i in range(300))
    with pytest.raises(ValueError, match="warmup phase"):
        base.anneal_from(10, decay_steps=5)
    explicit = WSDSchedule(peak_lr=1.0, total_steps=200, warmup_steps=0, decay_steps=10, decay_start=120)
    assert explicit.lr(119) == 1.0 and explicit.lr(130) == 0.0 and explicit.lr(199) == 0.0


def test_wsd_rejects_inconsistent_phases() -> None:
    with pytest.raises(ValueError, match="inside the warmup"):
        WSDSchedule(peak_lr=1.0, total_steps=100, warmup_steps=50, decay_steps=60)
    with pytest.raises(ValueError, match="decay_shape"):
        WSDSchedule(peak_lr=1.0, total_steps=100, decay_shape="exp")  # type: ignore[arg-type]
    with pytest.warns(UserWarning, match="after total_steps"):
        WSDSchedule(peak_lr=1.0, total_steps=100, decay_steps=10, decay_start=95)


def test_cosine_boundaries_and_round_trip_through_checkpoint_dict() -> None:
    c = CosineSchedule(peak_lr=1.0, total_steps=110, warmup_steps=10, min_lr=0.1)
    assert c.lr(0) == pytest.approx(0.1) and c.lr(9) == pytest.approx(1.0)
    assert c.lr(10) == pytest.approx(1.0)
    assert c.lr(60) == pytest.approx(0.55)
    assert c.lr(110) == pytest.approx(0.1)
    for sched in (c, WSDSchedule(peak_lr=1.0, total_steps=10, warmup_steps=2, decay_steps=3)):
        again = schedule_from_dict(sched.to_dict())
        assert again == sched and [again.lr(i) for i in range(12)] == [sched.lr(i) for i in range(12)]
