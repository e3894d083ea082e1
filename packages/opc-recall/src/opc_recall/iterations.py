"""The three recall iterations: train -> score the pool -> code-related domains -> URL patterns -> retrain.

    seeds (+ GitHub text) ─┐
    pattern positives ─────┼─▶ train fastText ─▶ score pool ─▶ domain table ─▶ URL patterns ─┐
    sampled negatives ─────┘        ▲                 (recalled / pages > 10%)  (prefixes that │
                                    └──────────── next iteration: pages under the patterns ◀──┘
                                                  become positives, new negatives are sampled

OpenCoder (Sec. 2.1.2): a fastText model trained on seed positives and pool negatives recalls pages;
domains with more than 10% of their pages recalled are code-related; URLs inside those domains are
annotated, and the pages under code-related URL patterns join the positives; three iterations. Here the
"annotation" is automatic: a path prefix (``/questions/``, ``/docs/``) of a code-related domain is a
pattern when at least ``pattern_min_pages`` of its pages were recalled and they are at least
``pattern_min_fraction`` of its pages.

Negatives are the labelled negatives plus a seeded random sample of the pool (pages that are neither
recalled nor under a pattern), ``pool_negatives`` per positive.

What it does NOT do: read or write files (the stage and the CLI do), or choose thresholds.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from opc_recall.classifier import Classifier, FastTextConfig, FeatureConfig, train_fasttext
from opc_recall.domains import path_prefixes


class IterationConfig(BaseModel):
    """How the iterations grow the positives (OpenCoder: 3 iterations, 10% domain threshold)."""

    model_config = ConfigDict(extra="forbid")
    iterations: int = Field(3, ge=1)
    domain_threshold: float = Field(0.10, ge=0, le=1, description="recalled share above which a domain is code-related")
    min_domain_pages: int = Field(2, ge=1, description="pages a domain needs in the pool to be judged")
    pattern_depth: int = Field(2, ge=1, description="path prefixes up to this many directories")
    pattern_min_pages: int = Field(2, ge=1)
    pattern_min_fraction: float = Field(0.5, gt=0, le=1)
    pool_negatives: float = Field(3.0, ge=0, description="pool pages sampled as negatives per positive")
    max_pattern_positives: int = Field(100_000, ge=0, description="cap on pages added by URL patterns per iteration")
    patterns_relabel: bool = Field(False, description="a labelled negative under a pattern becomes a positive")


@dataclass
class Page:
    """One page as the iterations see it: its pre-tokenized line and where it lives."""

    key: str  # stable id (sorts and seeds the sampling)
    url: str
    domain: str
    line: str
    label: int | None = None  # 1/0 for labelled seeds, None for pool pages


@dataclass
class Iteration:
    """What one iteration produced (the stage writes each of these out)."""

    number: int
    model: Any
    threshold: float
    positives: int
    negatives: int
    pattern_positives: int
    pool_scores: np.ndarray
    domains: list[dict[str, Any]] = field(default_factory=list)
    patterns: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _h(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()[:8], "big")


def domain_table(pages: list[Page], recalled: np.ndarray, cfg: IterationConfig) -> list[dict[str, Any]]:
    """Per registered domain: pages, recalled, fraction, code_related (fraction > threshold), sorted by domain."""
    n: Counter[str] = Counter()
    r: Counter[str] = Counter()
    for p, hit in zip(pages, recalled, strict=True):
        n[p.domain] += 1
        r[p.domain] += int(hit)
    rows = []
    for d in sorted(n):
        frac = r[d] / n[d]
        rows.append({"domain": d, "pages": n[d], "recalled": r[d], "fraction": frac,
                     "code_related": bool(d) and n[d] >= cfg.min_domain_pages and frac > cfg.domain_threshold})
    return rows


def url_patterns(pages: list[Page], recalled: np.ndarray, code_domains: set[str],
                 cfg: IterationConfig) -> dict[str, list[dict[str, Any]]]:
    """Path prefixes of code-related domains that concentrate recalled pages (shallowest qualifying prefix)."""
    n: dict[tuple[str, str], int] = defaultdict(int)
    r: dict[tuple[str, str], int] = defaultdict(int)
    for p, hit in zip(pages, recalled, strict=True):
        if p.domain not in code_domains:
            continue
        for prefix in path_prefixes(p.url, cfg.pattern_depth):
            n[(p.domain, prefix)] += 1
            r[(p.domain, prefix)] += int(hit)
    out: dict[str, list[dict[str, Any]]] = {}
    for (d, prefix) in sorted(n):
        if r[(d, prefix)] < cfg.pattern_min_pages or r[(d, prefix)] / n[(d, prefix)] < cfg.pattern_min_fraction:
            continue
        chosen = out.setdefault(d, [])
        if any(prefix.startswith(c["prefix"]) for c in chosen):
            continue  # a shallower prefix of this domain already covers it
        chosen.append({"prefix": prefix, "pages": n[(d, prefix)], "recalled": r[(d, prefix)],
                       "fraction": r[(d, prefix)] / n[(d, prefix)]})
    return out


def under_patterns(page: Page, patterns: dict[str, list[dict[str, Any]]], depth: int) -> bool:
    chosen = patterns.get(page.domain)
    if not chosen:
        return False
    prefixes = set(path_prefixes(page.url, depth))
    return any(c["prefix"] in prefixes for c in chosen)


def run_iterations(seeds: list[Page], pool: list[Page], cfg: IterationConfig, params: FastTextConfig,
                   features: FeatureConfig, pretok, seed: int, threshold: float = 0.5,
                   use_patterns: bool = True) -> list[Iteration]:
    """``cfg.iterations`` rounds over ``seeds`` (labelled, incl. GitHub text) and ``pool`` (unlabelled).

    A seed page that is also in the pool (the labels-only mode of ``opc recall train``) keeps its label:
    pattern positives and pool negatives are drawn from pool pages without a label.
    """
    results: list[Iteration] = []
    extra: list[Page] = []
    for it in range(1, cfg.iterations + 1):
        positives = [p for p in seeds if p.label == 1] + extra
        taken = {p.key for p in positives} | {p.key for p in seeds}
        negatives = [p for p in seeds if p.label == 0]
        want = int(round(cfg.pool_negatives * len(positives)))
        if want:
            recalled_before = set()
            if results:
                prev = results[-1]
                recalled_before = {p.key for p, s in zip(pool, prev.pool_scores, strict=True) if s >= prev.threshold}
            candidates = [p for p in pool if p.label is None and p.key not in taken and p.key not in recalled_before]
            candidates.sort(key=lambda p: (_h(seed, "neg", it, p.key), p.key))
            negatives = negatives + candidates[:want]
        train = [(p, 1) for p in positives] + [(p, 0) for p in negatives]
        train.sort(key=lambda t: (_h(seed, "order", it, t[0].key, t[1]), t[0].key))
        model = train_fasttext([p.line for p, _ in train], [y for _, y in train], params, seed)
        clf = Classifier(model, pretok, features, threshold)
        scores = clf.score_lines([p.line for p in pool]) if pool else np.zeros(0)
        recalled = scores >= threshold
        domains = domain_table(pool, recalled, cfg)
        code = {d["domain"] for d in domains if d["code_related"]}
        patterns = url_patterns(pool, recalled, code, cfg)
        results.append(Iteration(it, model, threshold, len(positives), len(negatives), len(extra), scores,
                                 domains, patterns))
        if use_patterns:
            seed_pos = {p.key for p in seeds if p.label == 1}
            labelled_neg = set() if cfg.patterns_relabel else {p.key for p in seeds if p.label == 0}
            extra = [p for p in pool if p.key not in seed_pos and p.key not in labelled_neg
                     and under_patterns(p, patterns, cfg.pattern_depth)][: cfg.max_pattern_positives]
    return results
