"""LSH: the S-curve, threshold -> (bands, rows) as datasketch derives them, and band keys."""

from __future__ import annotations

import numpy as np
import pytest
from datasketch.lsh import _optimal_param
from pydantic import ValidationError

from opc_data.dedup import DedupConfig, deduplicate
from opc_data.lsh import (
    band_keys,
    candidate_probability,
    format_s_curve,
    optimal_params,
    s_curve,
    threshold_at,
)


def test_s_curve_values_for_opencoder_bands_and_rows():
    assert candidate_probability(0.0, 16, 128) == 0.0
    assert candidate_probability(1.0, 16, 128) == 1.0
    assert candidate_probability(0.99, 16, 128) == pytest.approx(1 - (1 - 0.99**128) ** 16)
    assert candidate_probability(0.99, 16, 128) == pytest.approx(
        0.99433, abs=1e-5
    )  # 0.99^128 = 0.27626; 1 - 0.72374^16
    assert candidate_probability(0.9, 16, 128) == pytest.approx(2.2234e-5, rel=1e-3)
    assert candidate_probability(0.5, 2, 2) == pytest.approx(0.4375)  # 1 - (1 - 1/4)^2
    curve = s_curve(16, 128, points=11)
    assert [s for s, _ in curve] == pytest.approx([i / 10 for i in range(11)])
    probs = [p for _, p in curve]
    assert probs == sorted(probs) and probs[0] == 0.0 and probs[-1] == 1.0


def test_threshold_at_inverts_the_s_curve():
    for p in (0.01, 0.5, 0.99):
        assert candidate_probability(threshold_at(p, 16, 128), 16, 128) == pytest.approx(p)
    assert "50% at s=0.976" in format_s_curve(16, 128)


@pytest.mark.parametrize("threshold", [0.5, 0.8, 0.95])
def test_optimal_params_match_datasketch(threshold):
    assert optimal_params(threshold, 128) == _optimal_param(threshold, 128, 0.5, 0.5)
    assert optimal_params(threshold, 128, 0.2, 0.8) == _optimal_param(threshold, 128, 0.2, 0.8)


def test_config_derives_bands_rows_from_threshold_and_rejects_conflicts():
    cfg = DedupConfig(num_perm=128, lsh_threshold=0.8)
    assert cfg.lsh_params() == _optimal_param(0.8, 128, 0.5, 0.5)
    assert DedupConfig().lsh_params() == (16, 128)
    with pytest.raises(ValidationError):
        DedupConfig(lsh_threshold=0.8, bands=16, rows=128)
    with pytest.raises(ValidationError):
        DedupConfig(bands=16)
    with pytest.raises(ValidationError):
        DedupConfig(num_perm=256, bands=16, rows=128)


def test_band_keys_change_only_where_the_band_changes():
    sig = np.arange(2048, dtype=np.uint32)
    keys = band_keys(sig, 16, 128)
    assert len(set(keys)) == 16 and all(-(2**63) <= k < 2**63 for k in keys)
    other = sig.copy()
    other[300] += 1  # band 2
    changed = [i for i, (x, y) in enumerate(zip(keys, band_keys(other, 16, 128), strict=True)) if x != y]
    assert changed == [2]
    # same values in another band position give another key
    assert band_keys(np.zeros(256, np.uint32), 2, 128)[0] != band_keys(np.zeros(256, np.uint32), 2, 128)[1]
    with pytest.raises(ValueError):
        band_keys(sig[:100], 16, 128)


def test_dedup_stats_record_the_configured_s_curve():
    stats = deduplicate(
        [{"repo_name": "a", "path": "p", "content": "x y"}], DedupConfig(s_curve_points=5)
    ).stats
    assert (stats["bands"], stats["rows"]) == (16, 128)
    assert stats["s_curve"] == [[s, candidate_probability(s, 16, 128)] for s in (0.0, 0.25, 0.5, 0.75, 1.0)]
