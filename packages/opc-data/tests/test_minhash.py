"""Shingles and MinHash: the issue's shingle rules, the fast path == the reference, signatures ==
datasketch's affine32 scheme for the same seed and hash function."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from datasketch import MinHash

from opc_data.minhash import estimated_jaccard, permutations, signature, text_signature
from opc_data.shingles import jaccard, shingle_hash, shingle_hashes, shingle_tuples


def reference_set(text: str) -> np.ndarray:
    return np.unique(np.array([shingle_hash(s) for s in shingle_tuples(text)], dtype=np.uint64))


def datasketch_signature(text: str, num_perm: int, seed: int) -> np.ndarray:
    m = MinHash(
        num_perm=num_perm, seed=seed, hashfunc=lambda s: shingle_hash(s) & 0xFFFFFFFF, scheme="affine32"
    )
    m.update_batch(shingle_tuples(text))
    return m.hashvalues


@pytest.fixture(scope="module")
def dev_texts(shared_dir):
    with gzip.open(shared_dir / "data/raw_code/dev.jsonl.gz", "rt", encoding="utf-8") as fh:
        return [r["content"] for r in map(json.loads, fh) if not r["is_binary"]]


def test_shingles_are_case_kept_word_5_grams():
    assert shingle_tuples("a B c d e F") == [("a", "B", "c", "d", "e"), ("B", "c", "d", "e", "F")]
    assert shingle_tuples("A b c d e") != shingle_tuples("a b c d e")


def test_short_document_is_one_shingle_and_empty_has_none():
    assert shingle_tuples("x  y\n z") == [("x", "y", "z")]
    assert shingle_tuples("") == [] and shingle_tuples(" \n\t ") == []
    assert shingle_hashes("x y z").size == 1
    assert shingle_hashes("").size == 0 and shingle_hashes("\u3000\xa0 \n").size == 0
    assert text_signature("   ") is None
    # a 4-token document is not a shingle of a 5-token one
    assert not set(shingle_hashes("a b c d")) & set(shingle_hashes("a b c d e"))


def test_tokens_split_on_unicode_whitespace_like_str_split():
    text = (
        "a\u3000b\xa0c\x1cd\u2009e\u0085f\u202fg\u2028h zero\u200bwidth é\u00e9"  # U+200B is not whitespace
    )
    assert shingle_tuples(text) == [tuple(text.split()[i : i + 5]) for i in range(len(text.split()) - 4)]
    assert np.array_equal(shingle_hashes(text), reference_set(text))


def test_fast_shingle_hashes_equal_reference_on_dev_documents(dev_texts):
    for text in dev_texts[::20]:
        assert np.array_equal(shingle_hashes(text), reference_set(text))
    surrogate = "lone \udc80 surrogate in a document"
    assert np.array_equal(shingle_hashes(surrogate), reference_set(surrogate))


def test_permutations_are_datasketch_affine32_draws():
    for seed in (1, 42):
        a, b = permutations(2048, seed)
        ref = MinHash(num_perm=2048, seed=seed, scheme="affine32").permutations
        assert np.array_equal(a, ref[0]) and np.array_equal(b, ref[1])
        assert np.all(a & 1)


@pytest.mark.parametrize("seed", [1, 7])
def test_signature_equals_datasketch_for_same_seed(dev_texts, seed):
    sample = [t for t in dev_texts if t.split()][::300] + ["one two", "a b c d e f g h i j k l"]
    for text in sample:
        assert np.array_equal(text_signature(text, 2048, seed), datasketch_signature(text, 2048, seed))
    assert np.array_equal(text_signature(sample[0], 128, seed), datasketch_signature(sample[0], 128, seed))


def test_signature_ignores_repeated_hashes_and_order():
    h = shingle_hashes(" ".join(f"w{i}" for i in range(50)))
    assert np.array_equal(signature(h), signature(np.concatenate([h[::-1], h])))


def test_estimated_jaccard_tracks_true_jaccard():
    words = [f"tok{i}" for i in range(3000)]
    a = " ".join(words)
    b = " ".join(words[:2400] + [f"other{i}" for i in range(600)])
    true = jaccard(shingle_hashes(a), shingle_hashes(b))
    est = estimated_jaccard(text_signature(a), text_signature(b))
    assert 0.6 < true < 0.7
    assert abs(est - true) < 0.05  # std of the estimate at 2048 permutations is ~0.011
