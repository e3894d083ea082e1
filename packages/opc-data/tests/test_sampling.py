"""Per-language sampling: deterministic by (seed, blob_id), at the configured rate, paper defaults."""

from __future__ import annotations

import hashlib

import pytest

from opc_data.sampling import PAPER_RATES, SamplingConfig, sample_draw, sampling_reason


def _ids(n: int) -> list[str]:
    return [hashlib.sha1(str(i).encode()).hexdigest() for i in range(n)]


def test_paper_defaults_down_sample_java_and_html_only():
    cfg = SamplingConfig()
    assert set(cfg.rates) == {"java", "html"} and cfg.rates == PAPER_RATES
    assert all(sampling_reason("python", b, cfg, 0) is None for b in _ids(500))


def test_rate_is_respected_and_reason_names_the_language():
    cfg = SamplingConfig(rates={"Java": 0.25})
    reasons = [sampling_reason("java", b, cfg, 7) for b in _ids(20_000)]
    kept = sum(r is None for r in reasons) / len(reasons)
    assert 0.23 < kept < 0.27
    assert {r for r in reasons if r} == {"sampling:java"}


def test_draw_depends_only_on_seed_and_blob_id():
    ids = _ids(1000)
    cfg = SamplingConfig(rates={"html": 0.3})
    first = [sampling_reason("html", b, cfg, 1) for b in ids]
    again = [sampling_reason("html", b, cfg, 1) for b in reversed(ids)][::-1]
    assert first == again
    other_seed = [sampling_reason("html", b, cfg, 2) for b in ids]
    assert first != other_seed
    assert sampling_reason("html", ids[0], SamplingConfig(rates={"html": 0.3}, seed=5), 1) == \
        sampling_reason("html", ids[0], cfg, 5)  # an explicit seed overrides the recipe's
    assert 0.0 <= sample_draw(ids[0], 1) < 1.0


def test_rates_outside_unit_interval_are_refused():
    with pytest.raises(ValueError, match="sampling rates"):
        SamplingConfig(rates={"java": 1.5})


def test_disabled_or_rate_one_keeps_everything():
    ids = _ids(200)
    assert all(sampling_reason("java", b, SamplingConfig(enabled=False), 0) is None for b in ids)
    assert all(sampling_reason("java", b, SamplingConfig(rates={"java": 1.0}), 0) is None for b in ids)
    assert all(sampling_reason("java", b, SamplingConfig(rates={"java": 0.0}), 0) == "sampling:java" for b in ids)
