"""Batches of (input, target) windows over packed token shards: seeded shuffling, exact resume, DDP slices.

    shard tokens  |BOS a a a EOS|BOS b b EOS|BOS c c c c ...        (packed, see token_shards)
    windows       [0 ........ T][T ....... 2T][2T ....... 3T] ...   T+1 tokens each, stride T
                  input = w[:-1], target = w[1:]  -> every token is a target exactly once per epoch

    epoch e: perm_e = permutation(n_windows, seed=(seed, e))
    step  s: global batch = perm_e[s*G : (s+1)*G], G = batch_size * world_size
             rank r gets rows [r*B : (r+1)*B] of it

So a single process with ``batch_size = B * W`` sees exactly the union of what W ranks see with
``batch_size = B``: DDP at the same global batch trains on the same samples. The position
(``epoch``, ``batch_in_epoch``) is all the state there is: ``state_dict()`` goes into the checkpoint
and ``load_state_dict()`` continues with the very next sample, also under a different world size if
the global batch is the same. The state carries the shards' fingerprint; loading it against other
shards is an error. Windows never span two shards (each shard loses < T tokens at its end); the last
incomplete global batch of an epoch is dropped. This module does not tokenize or mask documents:
attention crosses document boundaries inside a window, as in OpenCoder/LLaMA pretraining.

Usage (the pretrain loop)::

    data = open_token_data(ctx.input_uri("tokens"))
    loader = TokenBatchLoader(data.train, seq_len=256, batch_size=8, seed=1234, rank=rank, world_size=world)
    x, y = loader.next_batch()              # torch.int64, shape (batch_size, seq_len)
    ckpt["data_loader"] = loader.state_dict()
    ...
    loader.load_state_dict(ckpt["data_loader"])
    for x, y in eval_batches(data.val, seq_len=256, batch_size=8, max_batches=20): ...
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from opc_core.errors import OpcError
from opc_train.token_shards import TokenFingerprint, TokenShards, check_fingerprint

STATE_VERSION = 1


class _Windows:
    """Fixed windows of ``seq_len + 1`` tokens, stride ``seq_len``, within each shard."""

    def __init__(self, shards: TokenShards, seq_len: int):
        if seq_len < 1:
            raise OpcError(f"seq_len must be >= 1 (got {seq_len})")
        self.shards = shards
        self.seq_len = seq_len
        self.per_shard = [max(0, (int(s.tokens.size) - 1) // seq_len) for s in shards.shards]
        self.starts = np.cumsum([0, *self.per_shard])
        self.n = int(self.starts[-1])

    def gather(self, window_ids: np.ndarray) -> np.ndarray:
        out = np.empty((len(window_ids), self.seq_len + 1), dtype=np.int64)
        shard_of = np.searchsorted(self.starts, window_ids, side="right") - 1
        for row, (w, s) in enumerate(zip(window_ids, shard_of, strict=True)):
            begin = (int(w) - int(self.starts[s])) * self.seq_len
            out[row] = self.shards.shard_tokens(int(s))[begin : begin + self.seq_len + 1]
        return out


def _to_torch(windows: np.ndarray):
    import torch

    t = torch.from_numpy(windows)
    return t[:, :-1].contiguous(), t[:, 1:].contiguous()


class TokenBatchLoader:
    """An endless, resumable stream of training batches ``(x, y)`` for one rank."""

    def __init__(self, shards: TokenShards, seq_len: int, batch_size: int, seed: int = 0, rank: int = 0,
                 world_size: int = 1, shuffle: bool = True):
        if not 0 <= rank < world_size:
            raise OpcError(f"rank {rank} is outside world_size {world_size}")
        if batch_size < 1:
            raise OpcError(f"batch_size must be >= 1 (got {batch_size})")
        self.windows = _Windows(shards, seq_len)
        self.fingerprint = shards.fingerprint
        self.seq_len, self.batch_size, self.seed = seq_len, batch_size, seed
        self.rank, self.world_size, self.shuffle = rank, world_size, shuffle
        self.global_batch = batch_size * world_size
        self.batches_per_epoch = self.windows.n // self.global_batch
        if self.batches_per_epoch == 0:
            raise OpcError(
                f"the split holds {shards.n_tokens} tokens = {self.windows.n} windows of {seq_len + 1}: fewer than one "
                f"global batch of {self.global_batch}",
                where=shards.uri, hint="lower seq_len or batch_size, or tokenize more data",
            )
        self.epoch = 0
        self.batch_in_epoch = 0
        self._perm_epoch: int | None = None
        self._perm: np.ndarray | None = None

    def _order(self, epoch: int) -> np.ndarray:
        if self._perm_epoch != epoch:
            if self.shuffle:
                rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.seed, epoch])))
                self._perm = rng.permutation(self.windows.n)
            else:
                self._perm = np.arange(self.windows.n)
            self._perm_epoch = epoch
        assert self._perm is not None
        return self._perm

    @property
    def samples_seen(self) -> int:
        """Windows consumed by all ranks together since the start of training."""
        return (self.epoch * self.batches_per_epoch + self.batch_in_epoch) * self.global_batch

    def next_window_ids(self) -> np.ndarray:
        """The window ids of this rank's next batch (advances the position)."""
        if self.batch_in_epoch >= self.batches_per_epoch:
            self.epoch += 1
            self.batch_in_epoch = 0
        start = self.batch_in_epoch * self.global_batch + self.rank * self.batch_size
        ids = self._order(self.epoch)[start : start + self.batch_size]
        self.batch_in_epoch += 1
        return ids

    def next_batch(self):
        """``(x, y)``: torch int64 tensors of shape ``(batch_size, seq_len)``; ``y`` is ``x`` shifted by one."""
        return _to_torch(self.windows.gather(self.next_window_ids()))

    def __iter__(self) -> Iterator[Any]:
        while True:
            yield self.next_batch()

    def state_dict(self) -> dict[str, Any]:
        """JSON-able position; put it in the checkpoint."""
        return {
            "version": STATE_VERSION,
            "epoch": self.epoch,
            "batch_in_epoch": self.batch_in_epoch,
            "samples_seen": self.samples_seen,
            "seed": self.seed,
            "seq_len": self.seq_len,
            "global_batch": self.global_batch,
            "n_windows": self.windows.n,
            "shuffle": self.shuffle,
            "fingerprint": self.fingerprint.to_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue at the exact next sample; refuse a state from other shards or another batch geometry."""
        check_fingerprint(TokenFingerprint.from_dict(state["fingerprint"]), self.fingerprint,
                          where=self.windows.shards.uri, what="the checkpoint's data-loader state")
        for key, mine in (("seed", self.seed), ("seq_len", self.seq_len), ("global_batch", self.global_batch),
                          ("n_windows", self.windows.n), ("shuffle", self.shuffle)):
            if state.get(key) != mine:
                raise OpcError(
                    f"cannot resume the data loader exactly: checkpoint has {key}={state.get(key)!r}, this run {mine!r}",
                    where=self.windows.shards.uri,
                    hint="resume with the same seed, seq_len, global batch (batch_size x world_size) and token data",
                )
        self.epoch = int(state["epoch"])
        self.batch_in_epoch = int(state["batch_in_epoch"])


def eval_batches(shards: TokenShards, seq_len: int, batch_size: int, max_batches: int | None = None,
                 rank: int = 0, world_size: int = 1) -> Iterator[Any]:
    """Validation batches in stored order (no shuffling), the same on every call.

    Only full global batches are yielded, so every rank runs the same number of steps (no DDP hang);
    a split too small for one global batch is an error rather than a silent empty evaluation.
    """
    windows = _Windows(shards, seq_len)
    global_batch = batch_size * world_size
    n_batches = windows.n // global_batch
    if n_batches == 0:
        raise OpcError(
            f"the validation split holds {shards.n_tokens} tokens: fewer than one global batch of {global_batch} "
            f"windows of {seq_len + 1}", where=shards.uri,
            hint="lower seq_len or the eval batch size, or raise tokenize.val_fraction",
        )
    if max_batches is not None:
        n_batches = min(n_batches, max_batches)
    for b in range(n_batches):
        start = b * global_batch + rank * batch_size
        yield _to_torch(windows.gather(np.arange(start, start + batch_size)))
