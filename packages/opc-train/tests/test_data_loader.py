"""The data loader: exact resume, seeded shuffling, DDP slices that add up to the single-process batch."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from opc_core.errors import OpcError
from opc_train.data_loader import TokenBatchLoader, eval_batches
from opc_train.token_shards import TokenFingerprint, TokenShards, TokenShardWriter

FP = TokenFingerprint(tokenizer_hash="c" * 64, dtype="uint16", bos_id=0, eos_id=1, pad_id=2, vocab_size=5000)


@pytest.fixture
def shards(tmp_path) -> TokenShards:
    # distinct token values (position-coded) so every window is recognisable
    w = TokenShardWriter(str(tmp_path / "train"), FP, ["code"], shard_tokens=900)
    stream = np.arange(3, 3 + 2000) % 5000
    pos = 0
    for length in [37, 120, 5, 400, 88, 250, 600, 500]:
        w.add(stream[pos : pos + length], source=0)
        pos += length
    w.close()
    return TokenShards.open(str(tmp_path / "train"))


def _take(loader, n):
    return [loader.next_batch() for _ in range(n)]


def test_targets_are_inputs_shifted_by_one(shards):
    x, y = TokenBatchLoader(shards, seq_len=16, batch_size=4, seed=1).next_batch()
    assert x.dtype == torch.int64 and x.shape == (4, 16)
    assert torch.equal(x[:, 1:], y[:, :-1])


def test_resume_continues_at_the_exact_next_sample_across_epochs(shards):
    full = TokenBatchLoader(shards, seq_len=16, batch_size=4, seed=7)
    expected = _take(full, 60)  # > 1 epoch (about 120 windows / 4)
    first = TokenBatchLoader(shards, seq_len=16, batch_size=4, seed=7)
    _take(first, 23)
    state = first.state_dict()
    resumed = TokenBatchLoader(shards, seq_len=16, batch_size=4, seed=7)
    resumed.load_state_dict(state)
    for (ex, ey), (rx, ry) in zip(expected[23:], _take(resumed, 37), strict=True):
        assert torch.equal(ex, rx) and torch.equal(ey, ry)
    assert resumed.epoch >= 1


def test_shuffling_is_deterministic_by_seed_and_differs_between_seeds_and_epochs(shards):
    a = TokenBatchLoader(shards, seq_len=16, batch_size=4, seed=3)
    b = TokenBatchLoader(shards, seq_len=16, batch_size=4, seed=3)
    c = TokenBatchLoader(shards, seq_len=16, batch_size=4, seed=4)
    ids_a = [a.next_window_ids().tolist() for _ in range(a.batches_per_epoch * 2)]
    ids_b = [b.next_window_ids().tolist() for _ in range(b.batches_per_epoch * 2)]
    ids_c = [c.next_window_ids().tolist() for _ in range(c.batches_per_epoch)]
    assert ids_a == ids_b
    assert ids_a[: len(ids_c)] != ids_c
    epoch0, epoch1 = ids_a[: a.batches_per_epoch], ids_a[a.batches_per_epoch :]
    assert epoch0 != epoch1
    flat0 = sorted(i for batch in epoch0 for i in batch)
    assert len(set(flat0)) == len(flat0), "a window is seen at most once per epoch"


def test_ranks_split_the_single_process_global_batch(shards):
    single = TokenBatchLoader(shards, seq_len=16, batch_size=6, seed=5)
    ranks = [TokenBatchLoader(shards, seq_len=16, batch_size=3, seed=5, rank=r, world_size=2) for r in range(2)]
    for _ in range(10):
        x, _ = single.next_batch()
        parts = [r.next_batch()[0] for r in ranks]
        assert torch.equal(torch.cat(parts), x)


def test_state_from_other_shards_or_geometry_is_refused(shards):
    loader = TokenBatchLoader(shards, seq_len=16, batch_size=4, seed=1)
    loader.next_batch()
    state = loader.state_dict()
    other = dict(state, fingerprint=dataclasses.replace(FP, tokenizer_hash="d" * 64).to_dict())
    with pytest.raises(OpcError, match="tokenizer_hash"):
        TokenBatchLoader(shards, seq_len=16, batch_size=4, seed=1).load_state_dict(other)
    with pytest.raises(OpcError, match="global_batch"):
        TokenBatchLoader(shards, seq_len=16, batch_size=2, seed=1).load_state_dict(state)


def test_eval_batches_are_stable_and_too_small_splits_are_an_error(shards):
    first = [x for x, _ in eval_batches(shards, seq_len=16, batch_size=4, max_batches=3)]
    again = [x for x, _ in eval_batches(shards, seq_len=16, batch_size=4, max_batches=3)]
    assert len(first) == 3 and all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    with pytest.raises(OpcError, match="fewer than one global batch"):
        list(eval_batches(shards, seq_len=512, batch_size=8))
