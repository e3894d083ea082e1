"""MinHash signatures of shingle sets, bit-for-bit equal to datasketch's default ``affine32`` scheme.

Where it sits: ``fuzzy_dedup`` calls ``signature(shingle_hashes(text))`` per record; ``lsh`` cuts the
signature into bands. Pure functions of one record, so Spark partitions call the same code.

Scheme (datasketch >= 2.0 ``MinHash(num_perm, seed, scheme="affine32")``, the reference semantics):

* each shingle has a 32-bit input hash ``h`` = the low 32 bits of our 64-bit shingle hash
  (``shingles.shingle_hash``; datasketch's own default would be SHA-1, we plug ours in as its
  ``hashfunc``, see below);
* ``h`` is pre-mixed once with the 32-bit MurmurHash3 finalizer ``fmix32``;
* permutation k is ``a_k * h + b_k mod 2^32`` with ``a_k`` odd (a bijection on 32-bit values), where
  ``a, b`` are drawn exactly as datasketch draws them from ``numpy.random.RandomState(seed)``;
* signature[k] = min over the shingles of permutation k; an empty set gives all ``2^32 - 1``.

So ``signature(hashes)`` == ``datasketch.MinHash(num_perm, seed, hashfunc=lambda s:
shingle_hash(s) & 0xFFFFFFFF).update_batch(shingles).hashvalues`` (tested). Why not the older
"a*h+b mod (2^61-1)" (datasketch's ``legacy`` scheme): its fold from the 61-bit prime range down
to 32 bits inflates similarity on large sets (datasketch issue #212), and mod-2^32 arithmetic is what
SIMD multiplies natively. Why not SHA-1 per shingle: hashing every shingle through hashlib costs
more than the whole signature; our shingle hash runs inside the numba tokenizer.

Speed: the kernel is an n_shingles x num_perm multiply-add-min in uint32, written as a numba loop
over 8 shingles at a time against the whole permutation vector (LLVM vectorises the inner loop; the
signature stays in L1). At 2048 permutations it beats rensa's Rust ``RMinHash`` on the same
shingles (see ``benchmarks/data_throughput.py::bench_minhash``).

What it does NOT do: no banding or index (``lsh.py``), no similarity decisions (``fuzzy_dedup.py``).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit, uint32

from opc_data.shingles import DEFAULT_SHINGLE_SIZE, shingle_hashes

DEFAULT_NUM_PERM = 2048
DEFAULT_SEED = 1
EMPTY_VALUE = np.uint32(0xFFFFFFFF)


@lru_cache(maxsize=8)
def permutations(num_perm: int = DEFAULT_NUM_PERM, seed: int = DEFAULT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """``(a, b)`` uint32 arrays, drawn like datasketch's affine32 scheme (``a`` odd). Read-only."""
    if num_perm < 1:
        raise ValueError(f"num_perm must be >= 1, got {num_perm}")
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    a.setflags(write=False)
    b.setflags(write=False)
    return a, b


@njit(cache=True, nogil=True)
def _fmix32_array(h):
    out = np.empty(h.shape[0], dtype=np.uint32)
    for i in range(h.shape[0]):
        x = uint32(h[i] & np.uint64(0xFFFFFFFF))
        x ^= x >> uint32(16)
        x = uint32(x * uint32(0x85EBCA6B))
        x ^= x >> uint32(13)
        x = uint32(x * uint32(0xC2B2AE35))
        x ^= x >> uint32(16)
        out[i] = x
    return out


@njit(cache=True, nogil=True)
def _min_affine(h, a, b, out):
    """out[k] = min_i (a[k] * h[i] + b[k] mod 2^32); 8 shingles per pass keeps out[] in registers/L1."""
    num_perm = a.shape[0]
    for k in range(num_perm):
        out[k] = uint32(0xFFFFFFFF)
    n = h.shape[0]
    i = 0
    while i + 8 <= n:
        h0 = h[i]
        h1 = h[i + 1]
        h2 = h[i + 2]
        h3 = h[i + 3]
        h4 = h[i + 4]
        h5 = h[i + 5]
        h6 = h[i + 6]
        h7 = h[i + 7]
        for k in range(num_perm):
            ak = a[k]
            bk = b[k]
            m = out[k]
            m = min(m, uint32(ak * h0 + bk))
            m = min(m, uint32(ak * h1 + bk))
            m = min(m, uint32(ak * h2 + bk))
            m = min(m, uint32(ak * h3 + bk))
            m = min(m, uint32(ak * h4 + bk))
            m = min(m, uint32(ak * h5 + bk))
            m = min(m, uint32(ak * h6 + bk))
            m = min(m, uint32(ak * h7 + bk))
            out[k] = m
        i += 8
    while i < n:
        hi = h[i]
        for k in range(num_perm):
            out[k] = min(out[k], uint32(a[k] * hi + b[k]))
        i += 1


def signature(hashes: np.ndarray, num_perm: int = DEFAULT_NUM_PERM, seed: int = DEFAULT_SEED) -> np.ndarray:
    """MinHash signature (uint32[num_perm]) of a set of 64-bit shingle hashes (duplicates allowed)."""
    a, b = permutations(num_perm, seed)
    out = np.empty(num_perm, dtype=np.uint32)
    _min_affine(_fmix32_array(np.ascontiguousarray(hashes, dtype=np.uint64)), a, b, out)
    return out


def text_signature(
    text: str, num_perm: int = DEFAULT_NUM_PERM, seed: int = DEFAULT_SEED, k: int = DEFAULT_SHINGLE_SIZE
) -> np.ndarray | None:
    """Signature of a document's shingle set, or None when it has no token (it never fuzzy-matches)."""
    hashes = shingle_hashes(text, k)
    if hashes.size == 0:
        return None
    return signature(hashes, num_perm, seed)


def estimated_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """The MinHash estimate: fraction of equal positions."""
    return float(np.count_nonzero(sig_a == sig_b)) / sig_a.size
