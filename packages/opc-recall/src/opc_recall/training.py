"""Training the recall classifier from labelled pages: domain-grouped CV, then the final model.

    labelled pages ─▶ BPE (all text) ─▶ for fold in k folds: iterations on the other folds ─▶ OOF scores
                                    └─▶ iterations on all pages ─▶ final model, threshold from the OOF scores

Used by ``opc recall train`` (labels alone: the pool is the labelled pages themselves) and by the
stage (seeds + GitHub text + the pool). ``metrics`` holds, per iteration, the cross-validated average
precision and cross-fitted precision / recall / F1 (``crossval.py``).

What it does NOT do: read files or score a pool at scale (``stage.py`` / the engines).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from opc_recall.bpe import PreTokenizer, load_bpe, train_bpe
from opc_recall.classifier import Classifier, FastTextConfig, FeatureConfig
from opc_recall.crossval import domain_folds, summarize
from opc_recall.iterations import Iteration, IterationConfig, Page, run_iterations


class ClassifierConfig(BaseModel):
    """Everything that decides the classifier: features, fastText, iterations, cross-validation."""

    model_config = ConfigDict(extra="forbid")
    features: FeatureConfig = FeatureConfig()
    fasttext: FastTextConfig = FastTextConfig()
    iterations: IterationConfig = IterationConfig()
    cv_folds: int = Field(5, ge=2)
    threshold: float | None = Field(None, gt=0, lt=1, description="None: the F1-best threshold from cross-validation")


@dataclass
class Trained:
    classifier: Classifier
    iterations: list[Iteration]
    metrics: dict[str, Any]
    oof_scores: list[np.ndarray]  # per iteration, aligned with the labelled pages
    labels: np.ndarray


def make_pretokenizer(features: FeatureConfig, texts: list[str]) -> PreTokenizer:
    if not features.bpe:
        return PreTokenizer(None, features.max_chars)
    if features.tokenizer:
        return PreTokenizer(load_bpe(features.tokenizer), features.max_chars)
    return PreTokenizer(train_bpe([t[: features.max_chars] for t in texts], features.bpe_vocab_size),
                        features.max_chars)


def train_classifier(labelled: list[dict[str, Any]], cfg: ClassifierConfig, seed: int,
                     extra_seeds: list[dict[str, Any]] | None = None, pool: list[dict[str, Any]] | None = None,
                     pretok: PreTokenizer | None = None, log=None) -> Trained:
    """``labelled``: dicts with key, url, domain, text (assembled by ``page_text``), label 0/1.

    ``extra_seeds`` (GitHub text positives) join every training fold; ``pool`` (unlabelled pages) is scored
    and mined in every iteration. Without a pool, the labelled pages of the training folds are the pool.
    """
    extra_seeds = extra_seeds or []
    pool = pool or []
    if pretok is None:
        pretok = make_pretokenizer(cfg.features, [p["text"] for p in (*labelled, *extra_seeds, *pool)])

    def pages(rows: list[dict[str, Any]], labelled_rows: bool) -> list[Page]:
        lines = pretok([r["text"] for r in rows])
        return [Page(r["key"], r["url"], r["domain"], line, int(r["label"]) if labelled_rows else None)
                for r, line in zip(rows, lines, strict=True)]

    lab = pages(labelled, True)
    extra = pages(extra_seeds, True)
    pool_pages = pages(pool, False)
    labels = np.array([p.label for p in lab], dtype=np.int64)
    n_it = cfg.iterations.iterations
    oof = [np.zeros(len(lab)) for _ in range(n_it)]
    folds = np.array(domain_folds([p.domain for p in lab], labels.tolist(), cfg.cv_folds)) if len(lab) else np.zeros(0)
    thr = cfg.threshold if cfg.threshold is not None else 0.5
    for f in range(cfg.cv_folds if len(lab) else 0):
        train_idx = [i for i in range(len(lab)) if folds[i] != f]
        test_idx = [i for i in range(len(lab)) if folds[i] == f]
        if not test_idx:
            continue
        seeds = [lab[i] for i in train_idx] + extra
        fold_pool = pool_pages or [lab[i] for i in train_idx]
        its = run_iterations(seeds, fold_pool, cfg.iterations, cfg.fasttext, cfg.features, pretok, seed, thr)
        for k, it in enumerate(its):
            clf = Classifier(it.model, pretok, cfg.features)
            oof[k][test_idx] = clf.score_lines([lab[i].line for i in test_idx])
        if log:
            log.info("recall cv: fold %d/%d done (%d test pages)", f + 1, cfg.cv_folds, len(test_idx))
    per_iteration = []
    for k in range(n_it):
        s = summarize(labels, oof[k], folds) if len(lab) and labels.sum() else {}
        per_iteration.append({"iteration": k + 1, **s})
    final_thr = cfg.threshold if cfg.threshold is not None else (per_iteration[-1].get("threshold", 0.5) or 0.5)
    its = run_iterations(lab + extra, pool_pages or lab, cfg.iterations, cfg.fasttext, cfg.features, pretok, seed,
                         final_thr)
    clf = Classifier(its[-1].model, pretok, cfg.features, final_thr)
    metrics = {"cv": {"folds": cfg.cv_folds, "group": "registered_domain", "pages": len(lab),
                      "positives": int(labels.sum()), "iterations": per_iteration},
               "threshold": final_thr,
               "training": [{"iteration": it.number, "positives": it.positives, "negatives": it.negatives,
                             "pattern_positives": it.pattern_positives,
                             "code_domains": sum(d["code_related"] for d in it.domains),
                             "url_patterns": sum(len(v) for v in it.patterns.values())} for it in its]}
    return Trained(clf, its, metrics, oof, labels)
