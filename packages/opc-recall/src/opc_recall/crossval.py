"""Domain-grouped cross-validation of the recall classifier: AP, precision, recall, F1 per iteration.

    labelled pages ──group by registered domain──▶ k folds (no domain in two folds; positives balanced)
    for each fold: run the iterations on the other folds only ──▶ out-of-fold scores per iteration
    ──▶ average precision (threshold-free), and P/R/F1 at a threshold chosen on the *other* folds

A page-level split would let fastText learn host names (``stackoverflow`` is half the positives); a
domain-level split measures what recall needs: finding code-related text on domains it has not seen.
Thresholds: for the reported F1, the threshold applied to fold k's pages is the F1-best one on the
out-of-fold scores of the other folds (cross-fitted, so the figure is not tuned on the pages it scores);
the model's final threshold is the F1-best one on all out-of-fold scores.

What it does NOT do: train the BPE per fold (the BPE is unsupervised: it sees all page text, no labels).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np


def domain_folds(domains: list[str], labels: list[int], k: int) -> list[int]:
    """Fold index per page: whole domains, greedily balanced on positives then pages (deterministic)."""
    pages: Counter[str] = Counter(domains)
    pos: Counter[str] = Counter(d for d, y in zip(domains, labels, strict=True) if y == 1)
    fold_pos = [0] * k
    fold_pages = [0] * k
    assign: dict[str, int] = {}
    for d in sorted(pages, key=lambda d: (-pos[d], -pages[d], d)):
        f = min(range(k), key=lambda i: (fold_pos[i] if pos[d] else 0, fold_pages[i], i))
        assign[d] = f
        fold_pos[f] += pos[d]
        fold_pages[f] += pages[d]
    return [assign[d] for d in domains]


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the step P/R curve (sklearn's definition); ties are one step."""
    labels = np.asarray(labels, dtype=np.int64)
    n_pos = int(labels.sum())
    if n_pos == 0:
        return 0.0
    if len(scores) == 0:  # e.g. every labelled page fell into one fold: no out-of-fold scores
        return np.zeros(0), np.zeros(0), np.zeros(0)
    order = np.argsort(-np.asarray(scores), kind="stable")
    s, y = np.asarray(scores)[order], labels[order]
    tp = np.cumsum(y)
    fp = np.cumsum(1 - y)
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]  # end of each tie group
    precision = tp[last] / (tp[last] + fp[last])
    recall = tp[last] / n_pos
    prev = np.r_[0.0, recall[:-1]]
    return float(np.sum((recall - prev) * precision))


def pr_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(precision, recall, threshold) at each distinct score, highest threshold first."""
    if len(scores) == 0:  # e.g. every labelled page fell into one fold: no out-of-fold scores
        return np.zeros(0), np.zeros(0), np.zeros(0)
    order = np.argsort(-np.asarray(scores), kind="stable")
    s, y = np.asarray(scores)[order], np.asarray(labels, dtype=np.int64)[order]
    tp, fp = np.cumsum(y), np.cumsum(1 - y)
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    n_pos = max(1, int(y.sum()))
    return tp[last] / (tp[last] + fp[last]), tp[last] / n_pos, s[last]


def prf(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    pred = np.asarray(scores) >= threshold
    y = np.asarray(labels).astype(bool)
    tp = int((pred & y).sum())
    fp = int((pred & ~y).sum())
    fn = int((~pred & y).sum())
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "tp": tp, "fp": fp, "fn": fn}


def best_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    """The score threshold with the best F1 (midpoint to the next lower score; ties -> the higher one)."""
    precision, recall, thr = pr_curve(labels, scores)
    f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0)
    if len(f1) == 0:
        return 0.5
    i = int(np.argmax(f1))
    lower = thr[i + 1] if i + 1 < len(thr) else 0.0
    return float((thr[i] + lower) / 2)


def summarize(labels: np.ndarray, scores: np.ndarray, folds: np.ndarray) -> dict[str, Any]:
    """AP over all out-of-fold scores, cross-fitted P/R/F1, per-fold AP, and the final F1-best threshold."""
    labels, scores, folds = np.asarray(labels), np.asarray(scores), np.asarray(folds)
    pred = np.zeros(len(labels), dtype=bool)
    fold_thresholds = {}
    per_fold = {}
    for f in sorted(set(folds.tolist())):
        other = folds != f
        t = best_threshold(labels[other], scores[other])
        fold_thresholds[int(f)] = t
        pred[folds == f] = scores[folds == f] >= t
        if labels[folds == f].sum():
            per_fold[int(f)] = average_precision(labels[folds == f], scores[folds == f])
    y = labels.astype(bool)
    tp, fp, fn = int((pred & y).sum()), int((pred & ~y).sum()), int((~pred & y).sum())
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    threshold = best_threshold(labels, scores)
    return {"average_precision": average_precision(labels, scores), "precision": p, "recall": r,
            "f1": 2 * p * r / (p + r) if p + r else 0.0, "fold_thresholds": fold_thresholds,
            "fold_average_precision": per_fold, "threshold": threshold,
            "at_threshold_in_sample": prf(labels, scores, threshold)}
