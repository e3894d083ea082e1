"""Word 5-gram shingles of a document, and their 64-bit hashes: the sets that fuzzy dedup compares.

Where it sits: ``dedup.deduplicate`` -> ``fuzzy_dedup`` -> here, per record (a pure function of one
record's text, so the Spark engine calls the same code inside its partitions).

Definition (the issue's, recipe-configurable through ``k``):

* tokens are the whitespace-separated pieces of the text, exactly Python's ``str.split()`` (Unicode
  whitespace: ``\\t\\n\\v\\f\\r``, ``\\x1c``-``\\x1f``, space, U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028,
  U+2029, U+202F, U+205F, U+3000); case is kept;
* the shingles are the k-grams of consecutive tokens (k=5); a document with 1..k-1 tokens is ONE
  shingle made of all its tokens; a document with no token (empty, whitespace only, or a binary
  record, which the caller never passes here) has no shingle and never fuzzy-matches anything.

Hashing. ``shingle_tuples`` is the readable reference (a list of token tuples). The fast path,
``shingle_hashes``, never builds Python strings: a numba kernel walks the UTF-8 bytes once, hashes
each token with FNV-1a-64, and folds the k token hashes of each window with the MurmurHash3 64-bit
finalizer (``acc = fmix64(acc ^ token_hash)``, started from a constant and ended with the window
length). ``shingle_hash`` is the same function in plain Python over a token tuple, and a test checks
that both agree on every dev-corpus document. A set of distinct 64-bit hashes stands for the set of
shingles: two different shingles of a pair of documents collide with probability about
n^2 / 2^64 (~1e-13 for 5,000-shingle documents), which we accept as exact for Jaccard.

What it does NOT do: no normalisation (no lower-casing, no comment stripping, no number masking) and
no MinHash (``minhash.py``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

DEFAULT_SHINGLE_SIZE = 5

_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_ACC_START = 0x9E3779B97F4A7C15
_MASK64 = (1 << 64) - 1


def tokens(text: str) -> list[str]:
    """Whitespace-separated tokens, case kept (``str.split()``)."""
    return text.split()


def shingle_tuples(text: str, k: int = DEFAULT_SHINGLE_SIZE) -> list[tuple[str, ...]]:
    """The reference shingles, in document order (repeats kept): k-token windows, or one short shingle."""
    toks = text.split()
    if not toks:
        return []
    if len(toks) < k:
        return [tuple(toks)]
    return [tuple(toks[i : i + k]) for i in range(len(toks) - k + 1)]


def _fmix64_py(h: int) -> int:
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & _MASK64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & _MASK64
    return h ^ (h >> 33)


def token_hash(token: str) -> int:
    """FNV-1a-64 of the token's UTF-8 bytes (surrogates passed through, so any ``str`` hashes)."""
    h = _FNV_OFFSET
    for byte in token.encode("utf-8", "surrogatepass"):
        h = ((h ^ byte) * _FNV_PRIME) & _MASK64
    return h


def shingle_hash(shingle: tuple[str, ...]) -> int:
    """64-bit hash of one shingle (a token tuple): the plain-Python twin of the numba kernel."""
    acc = _ACC_START
    for tok in shingle:
        acc = _fmix64_py(acc ^ token_hash(tok))
    return _fmix64_py(acc ^ len(shingle))


# --- the fast path -------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _fmix64(h):
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    return h


# Byte classes for the tokenizer: 0 = part of a token, 1 = ASCII whitespace, 2 = lead byte of a
# multi-byte sequence that may be Unicode whitespace (checked by ``_space_multi``).
_BYTE_CLASS = np.zeros(256, dtype=np.uint8)
_BYTE_CLASS[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = 1
_BYTE_CLASS[[0xC2, 0xE1, 0xE2, 0xE3]] = 2


@njit(cache=True, inline="always")
def _space_multi(buf, i, n):
    """Length of the multi-byte whitespace character at buf[i] (U+0085, U+00A0, U+1680, ...), else 0."""
    c = buf[i]
    if c == 0xC2:
        if i + 1 < n and (buf[i + 1] == 0x85 or buf[i + 1] == 0xA0):
            return 2
        return 0
    if i + 2 >= n:
        return 0
    c1 = buf[i + 1]
    c2 = buf[i + 2]
    if c == 0xE1:
        return 3 if (c1 == 0x9A and c2 == 0x80) else 0
    if c == 0xE2:
        if c1 == 0x80 and (c2 <= 0x8A or c2 == 0xA8 or c2 == 0xA9 or c2 == 0xAF):
            return 3
        if c1 == 0x81 and c2 == 0x9F:
            return 3
        return 0
    return 3 if (c1 == 0x80 and c2 == 0x80) else 0


@njit(cache=True, nogil=True)
def _token_hashes(buf, cls):
    """FNV-1a-64 of every token of a UTF-8 buffer, in order (tokens as ``str.split()`` cuts them)."""
    n = buf.shape[0]
    out = np.empty(n // 2 + 1, dtype=np.uint64)
    count = 0
    i = 0
    prime = np.uint64(_FNV_PRIME)
    offset = np.uint64(_FNV_OFFSET)
    while i < n:
        while i < n:  # skip whitespace
            t = cls[buf[i]]
            if t == 1:
                i += 1
            elif t == 2:
                w = _space_multi(buf, i, n)
                if w == 0:
                    break
                i += w
            else:
                break
        if i >= n:
            break
        h = offset
        while i < n:  # one token
            c = buf[i]
            t = cls[c]
            if t == 1 or (t == 2 and _space_multi(buf, i, n) > 0):
                break
            h = (h ^ np.uint64(c)) * prime
            i += 1
        out[count] = h
        count += 1
    return out[:count]


@njit(cache=True, nogil=True)
def _fold_windows(tok, k):
    n = tok.shape[0]
    if n == 0:
        return np.empty(0, dtype=np.uint64)
    width = k if n >= k else n
    m = n - width + 1
    out = np.empty(m, dtype=np.uint64)
    for i in range(m):
        acc = np.uint64(_ACC_START)
        for j in range(width):
            acc = _fmix64(acc ^ tok[i + j])
        out[i] = _fmix64(acc ^ np.uint64(width))
    return out


@njit(cache=True, nogil=True)
def _shingle_set(buf, cls, k):
    """Sorted distinct shingle hashes: tokenize, fold windows, sort, drop repeats (one dispatch)."""
    folded = _fold_windows(_token_hashes(buf, cls), k)
    if folded.shape[0] == 0:
        return folded
    folded.sort()
    m = 1
    for i in range(1, folded.shape[0]):
        if folded[i] != folded[m - 1]:
            folded[m] = folded[i]
            m += 1
    return folded[:m].copy()


def shingle_hashes(text: str, k: int = DEFAULT_SHINGLE_SIZE) -> np.ndarray:
    """Sorted distinct 64-bit shingle hashes of ``text`` (uint64; empty when the text has no token)."""
    if k < 1:
        raise ValueError(f"shingle size must be >= 1, got {k}")
    buf = np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    return _shingle_set(buf, _BYTE_CLASS, k)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard similarity of two sorted distinct hash sets; 0.0 when both are empty."""
    if a.size == 0 and b.size == 0:
        return 0.0
    inter = np.intersect1d(a, b, assume_unique=True).size
    return inter / (a.size + b.size - inter)
