"""LSH banding for MinHash signatures: band keys, the S-curve, and threshold -> (bands, rows).

Where it sits: ``fuzzy_dedup`` cuts each record's signature (``minhash.signature``) into ``bands``
bands of ``rows`` values; two records become an LSH *candidate pair* when any band is identical.
``band_keys`` is a pure function of one signature, so Spark joins on the same keys.

The math (Leskovec, Rajaraman, Ullman, *Mining of Massive Datasets*, ch. 3.4). For one permutation,
P[min-hashes equal] = Jaccard s. A band of r rows matches with probability s^r, and at least one of b
bands matches with

    P(candidate | s) = 1 - (1 - s^r)^b                                  (the S-curve)

Its steepest point is near s* ~ (1/b)^(1/r). OpenCoder's 16 bands x 128 rows put s* ~ 0.979: pairs
need near-identical shingle sets to meet (P = 0.01 at s ~ 0.944, 0.50 at s ~ 0.976, 0.99 at
s ~ 0.989; P(0.9) ~ 2e-5, P(0.8) ~ 6e-12). ``s_curve`` gives the points the manifest records.

Threshold -> parameters (as datasketch's ``MinHashLSH._optimal_param``). For a target threshold t
and ``num_perm`` = n, choose (b, r) with b*r <= n minimising

    w_fp * FP(b, r) + w_fn * FN(b, r),  FP = integral_0^t P(s) ds,  FN = integral_t^1 (1 - P(s)) ds

i.e. the weighted area under the S-curve left of t (pairs below t that still become candidates) plus
the area above it right of t (pairs above t that are missed). The integrals are computed with
``scipy.integrate.quad`` like datasketch, so both pick the same (b, r) (tested).

What it does NOT do: no verification (``fuzzy_dedup``), no signature computation (``minhash``).
"""

from __future__ import annotations

import hashlib
import logging
from functools import lru_cache

import numpy as np

log = logging.getLogger("opc.data.lsh")

DEFAULT_BANDS = 16
DEFAULT_ROWS = 128


def candidate_probability(s: float, bands: int, rows: int) -> float:
    """P(two records with Jaccard s share at least one band) = 1 - (1 - s^rows)^bands."""
    return 1.0 - (1.0 - float(s) ** rows) ** bands


def s_curve(bands: int, rows: int, points: int = 21) -> list[tuple[float, float]]:
    """``points`` evenly spaced (s, P(candidate | s)) pairs on [0, 1], for manifests and reports."""
    if points < 2:
        raise ValueError(f"an S-curve needs at least 2 points, got {points}")
    return [(round(s, 6), candidate_probability(s, bands, rows)) for s in np.linspace(0.0, 1.0, points)]


def threshold_at(p: float, bands: int, rows: int) -> float:
    """The Jaccard at which P(candidate) = p: s = (1 - (1 - p)^(1/b))^(1/r) (inverse of the S-curve)."""
    return (1.0 - (1.0 - p) ** (1.0 / bands)) ** (1.0 / rows)


def format_s_curve(bands: int, rows: int) -> str:
    """A few readable lines for the log: where the curve crosses 1%, 50%, 99%, and P at round values."""
    marks = ", ".join(
        f"P({s:.2f})={candidate_probability(s, bands, rows):.3g}" for s in (0.5, 0.7, 0.8, 0.9, 0.95, 0.99)
    )
    cross = ", ".join(f"{int(p * 100)}% at s={threshold_at(p, bands, rows):.3f}" for p in (0.01, 0.5, 0.99))
    return f"LSH S-curve for {bands} bands x {rows} rows: {cross}; {marks}"


def log_s_curve(bands: int, rows: int) -> None:
    log.info(format_s_curve(bands, rows))


def _false_positive_area(threshold: float, bands: int, rows: int) -> float:
    from scipy.integrate import quad

    return quad(lambda s: candidate_probability(s, bands, rows), 0.0, threshold)[0]


def _false_negative_area(threshold: float, bands: int, rows: int) -> float:
    from scipy.integrate import quad

    return quad(lambda s: 1.0 - candidate_probability(s, bands, rows), threshold, 1.0)[0]


@lru_cache(maxsize=32)
def optimal_params(
    threshold: float, num_perm: int, false_positive_weight: float = 0.5, false_negative_weight: float = 0.5
) -> tuple[int, int]:
    """(bands, rows) with bands*rows <= num_perm minimising the weighted FP + FN areas (see module doc)."""
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"LSH threshold must be in (0, 1), got {threshold}")
    best, opt = float("inf"), (0, 0)
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            err = false_positive_weight * _false_positive_area(threshold, b, r)
            err += false_negative_weight * _false_negative_area(threshold, b, r)
            if err < best:
                best, opt = err, (b, r)
    return opt


def band_keys(signature: np.ndarray, bands: int, rows: int) -> list[int]:
    """One signed 64-bit key per band: BLAKE2b-8 of (band index, the band's bytes).

    The band index is hashed in, so equal values in different bands never meet; keys fit a Spark
    LongType. A 64-bit key collision only adds a candidate, which verification then rejects.
    """
    if bands * rows > signature.size:
        raise ValueError(
            f"{bands} bands x {rows} rows need {bands * rows} values; the signature has {signature.size}"
        )
    sig = np.ascontiguousarray(signature, dtype=np.uint32)
    keys = []
    for i in range(bands):
        digest = hashlib.blake2b(
            sig[i * rows : (i + 1) * rows].tobytes(), digest_size=8, person=i.to_bytes(2, "little")
        )
        keys.append(int.from_bytes(digest.digest(), "little", signed=True))
    return keys
