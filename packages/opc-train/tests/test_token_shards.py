"""Token shards: packed documents round-trip, dtype follows the vocabulary, fingerprints refuse mismatches."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from opc_core.errors import OpcError
from opc_train.token_shards import (
    TokenFingerprint,
    TokenShards,
    TokenShardWriter,
    check_model_vocab,
    token_dtype,
)

FP = TokenFingerprint(tokenizer_hash="a" * 64, dtype="uint16", bos_id=0, eos_id=1, pad_id=2, vocab_size=300)


def _write(tmp_path, docs, fp=FP, shard_tokens=1 << 20):
    w = TokenShardWriter(str(tmp_path / "train"), fp, ["code", "web"], shard_tokens=shard_tokens)
    for i, d in enumerate(docs):
        w.add(d, source=i % 2)
    return w.close()


def test_documents_round_trip_across_shards_with_boundaries(tmp_path):
    rng = np.random.default_rng(0)
    docs = [[0, *rng.integers(3, 300, size=int(rng.integers(1, 40))).tolist(), 1] for _ in range(50)]
    index = _write(tmp_path, docs, shard_tokens=100)
    assert len(index["shards"]) > 1, "small shard size must give several shards"
    shards = TokenShards.open(str(tmp_path / "train"), expect=FP)
    assert shards.n_docs == 50 and shards.n_tokens == sum(map(len, docs))
    for i in (0, 17, 49):
        assert shards.document(i).tolist() == docs[i]
    assert index["source_tokens"]["code"] == sum(len(d) for d in docs[0::2])
    counts = shards.token_counts()
    assert counts.sum() == shards.n_tokens and counts[0] == 50 and counts[1] == 50


def test_dtype_is_uint16_up_to_65536_then_uint32():
    assert token_dtype(8192) == "uint16" and token_dtype(65536) == "uint16"
    assert token_dtype(65537) == "uint32" and token_dtype(96640) == "uint32"


def test_uint32_shards_keep_large_ids(tmp_path):
    fp = dataclasses.replace(FP, dtype="uint32", vocab_size=96640)
    _write(tmp_path, [[0, 96000, 70000, 1]], fp=fp)
    assert TokenShards.open(str(tmp_path / "train")).document(0).tolist() == [0, 96000, 70000, 1]


def test_fingerprint_mismatch_is_a_clear_error(tmp_path):
    _write(tmp_path, [[0, 5, 6, 1]])
    other = dataclasses.replace(FP, tokenizer_hash="b" * 64, eos_id=7)
    with pytest.raises(OpcError) as err:
        TokenShards.open(str(tmp_path / "train"), expect=other)
    text = str(err.value)
    assert "tokenizer_hash" in text and "eos_id" in text and "bos_id" not in text
    assert str(tmp_path / "train") in text


def test_model_smaller_than_vocabulary_is_refused():
    check_model_vocab(FP, 300)
    with pytest.raises(OpcError, match="vocab_size"):
        check_model_vocab(FP, 299)


def test_truncated_shard_is_detected(tmp_path):
    _write(tmp_path, [[0, 5, 6, 7, 1]] * 4)
    path = tmp_path / "train" / "part-00000.bin"
    path.write_bytes(path.read_bytes()[:-2])
    with pytest.raises(OpcError, match="does not match its index"):
        TokenShards.open(str(tmp_path / "train"))
