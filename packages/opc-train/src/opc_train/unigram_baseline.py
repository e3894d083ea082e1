"""The floor a language model must clear: a unigram model fitted on the training tokens.

    p(t) = (count_train(t) + alpha) / (N_train + alpha * V)        add-alpha smoothing, alpha = 1
    unigram_val_loss = -mean over validation targets of log p(t)   nats per token

A model whose validation loss is not below this has learned token frequencies and nothing about
context. The pretrain summary reports both numbers on the same validation targets. Not here: any
n-gram beyond order one.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def fit_unigram(counts: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Log-probabilities (float64, length V) from token counts."""
    counts = np.asarray(counts, dtype=np.float64)
    return np.log(counts + alpha) - np.log(counts.sum() + alpha * counts.size)


def unigram_loss(log_probs: np.ndarray, targets: Iterable[np.ndarray], ignore_index: int = -100) -> float:
    """Mean negative log-likelihood (nats/token) of the target ids under the unigram model."""
    total, n = 0.0, 0
    for t in targets:
        t = np.asarray(t).reshape(-1)
        t = t[t != ignore_index]
        total += float(-log_probs[t].sum())
        n += int(t.size)
    if n == 0:
        raise ValueError("no validation targets to score")
    return total / n
