"""The prefetching loader: same batches in the same order, and its state is the consumed position."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from opc_train.data_loader import TokenBatchLoader
from opc_train.prefetch import PrefetchingLoader
from opc_train.token_shards import TokenFingerprint, TokenShards, TokenShardWriter

FP = TokenFingerprint(tokenizer_hash="d" * 64, dtype="uint16", bos_id=0, eos_id=1, pad_id=2, vocab_size=5000)


@pytest.fixture
def shards(tmp_path) -> TokenShards:
    w = TokenShardWriter(str(tmp_path / "train"), FP, ["code"], shard_tokens=700)
    stream = np.arange(3, 3 + 3000) % 5000
    for start in range(0, 3000, 150):
        w.add(stream[start : start + 150], source=0)
    w.close()
    return TokenShards.open(str(tmp_path / "train"))


def _loader(shards: TokenShards) -> TokenBatchLoader:
    return TokenBatchLoader(shards, seq_len=16, batch_size=4, seed=3)


def test_prefetching_yields_the_same_batches_and_checkpoints_the_consumed_position(shards) -> None:
    plain, ahead = _loader(shards), PrefetchingLoader(_loader(shards), depth=3)
    try:
        for _ in range(25):  # crosses an epoch boundary (45 windows / 4 per batch = 11 batches per epoch)
            (x, y), (px, py) = plain.next_batch(), ahead.next_batch()
            assert torch.equal(x, px) and torch.equal(y, py)
        time.sleep(0.2)  # let the thread run ahead and fill its queue
        assert ahead.loader.state_dict() != plain.state_dict()  # it really gathered ahead ...
        assert ahead.state_dict() == plain.state_dict()  # ... but reports what the loop consumed
        state = ahead.state_dict()
    finally:
        ahead.close()

    resumed = PrefetchingLoader(_loader(shards), depth=2)
    resumed.load_state_dict(state)
    try:
        for _ in range(5):
            assert torch.equal(resumed.next_batch()[0], plain.next_batch()[0])
        with pytest.raises(RuntimeError, match="before the first batch"):
            resumed.load_state_dict(state)
    finally:
        resumed.close()


def test_an_error_in_the_prefetch_thread_reaches_the_loop(shards) -> None:
    broken = _loader(shards)

    def fail():
        raise OSError("shard file vanished")

    broken.next_batch = fail
    ahead = PrefetchingLoader(broken, depth=2)
    with pytest.raises(OSError, match="shard file vanished"):
        ahead.next_batch()
    ahead.close()
