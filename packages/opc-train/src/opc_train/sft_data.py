"""SFT examples: ChatML-rendered conversations as token ids with an assistant-only loss mask, and batches.

    messages ─▶ assistant_spans (opc_core.chat_template) ─▶ text + char spans of each answer + its <|im_end|>
             ─▶ tokenizer.encode(text, add_special_tokens=False)  (= apply_chat_template's ids, a test checks)
             ─▶ ids, mask (token trained iff its first character lies in an assistant span)
             ─▶ truncation policy at max_len ─▶ SFTExample | over_long (quarantined by the caller)

    x = ids[:-1],  y = ids[1:] with -100 where the target token is not an assistant token

Batching: no packing. Each micro-batch holds ``batch_size`` whole conversations, right-padded to its
longest with ``<|pad|>`` inputs and ignored (-100) targets; causal attention never lets a real token see
the padding that follows it, so a padded batch has exactly the loss of its conversations one by one
(a test checks) and no attention mask or position ids are needed. Why not packing with document masks:
the model's attention takes no block mask today (``model.py``). The price, measured with
``benchmarks/sft_padding.py`` on code-derived conversations (<= 256 tokens, micro-batch 8, shuffled):
padding efficiency 0.65 and 1.5x the training time per real token of the same tokens packed (see the
report in the sft stage docstring); ``padding_efficiency`` is in every sft summary.

``SFTBatchLoader`` has the interface of ``data_loader.TokenBatchLoader`` (``next_batch``,
``state_dict``, ``load_state_dict``), so the one training loop drives both; its position (epoch, batch
in epoch) is the whole state and is checked against the data's fingerprint on resume. Loss
normalisation by the global count of target tokens happens in the loop, as for pretraining.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from opc_core.chat_template import assistant_spans
from opc_core.errors import OpcError

IGNORE = -100
STATE_VERSION = 1


@dataclass(frozen=True)
class SFTExample:
    ids: np.ndarray  # int64, the rendered conversation
    mask: np.ndarray  # bool, True where the token is an assistant token (content or closing <|im_end|>)

    @property
    def n_trainable(self) -> int:
        return int(self.mask[1:].sum())


def render_example(tok, messages: Sequence[Mapping[str, str]]) -> SFTExample:
    """Token ids of the ChatML rendering and the assistant-token mask (no truncation)."""
    text, spans = assistant_spans(messages)
    enc = tok.encode(text, add_special_tokens=False)
    ids = np.asarray(enc.ids, dtype=np.int64)
    starts = np.asarray([a for a, _ in enc.offsets], dtype=np.int64)
    mask = np.zeros(len(ids), dtype=bool)
    for a, b in spans:
        mask |= (starts >= a) & (starts < b)
    return SFTExample(ids, mask)


def truncate(example: SFTExample, max_len: int, policy: Literal["truncate", "drop"]) -> SFTExample | None:
    """At most ``max_len`` tokens: ``truncate`` keeps the head (None if no assistant token is left), ``drop``
    refuses any longer conversation (None)."""
    if len(example.ids) <= max_len:
        return example
    if policy == "drop":
        return None
    cut = SFTExample(example.ids[:max_len], example.mask[:max_len])
    return cut if cut.n_trainable > 0 else None


def pad_batch(examples: Sequence[SFTExample], pad_id: int):
    """``(x, y)`` torch int64 ``[B, T]``: right padding, targets -100 on non-assistant and padded positions."""
    import torch

    width = max(len(e.ids) for e in examples) - 1
    x = np.full((len(examples), width), pad_id, dtype=np.int64)
    y = np.full((len(examples), width), IGNORE, dtype=np.int64)
    for row, e in enumerate(examples):
        n = len(e.ids) - 1
        x[row, :n] = e.ids[:-1]
        y[row, :n] = np.where(e.mask[1:], e.ids[1:], IGNORE)
    return torch.from_numpy(x), torch.from_numpy(y)


def examples_fingerprint(examples: Sequence[SFTExample]) -> str:
    h = hashlib.sha256()
    for e in examples:
        h.update(e.ids.tobytes())
        h.update(np.packbits(e.mask).tobytes())
        h.update(b"\x00")
    return h.hexdigest()[:16]


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The loader's shuffled order of ``n`` conversations in ``epoch``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, epoch]))).permutation(n)


def padding_efficiency(examples: Sequence[SFTExample], batch_size: int, seed: int) -> float:
    """Real tokens / computed tokens over the first epoch's micro-batches, in the loader's shuffled order
    (``benchmarks/sft_padding.py`` compares the time per real token with packing)."""
    order = epoch_order(len(examples), seed, 0)
    real = padded = 0
    for s in range(0, len(examples) - batch_size + 1, batch_size):
        chunk = [len(examples[int(i)].ids) - 1 for i in order[s:s + batch_size]]
        real += sum(chunk)
        padded += max(chunk) * len(chunk)
    return real / max(1, padded)


class SFTBatchLoader:
    """An endless, resumable stream of padded conversation batches for one rank (shuffled per epoch)."""

    def __init__(self, examples: Sequence[SFTExample], batch_size: int, pad_id: int, seed: int = 0, rank: int = 0,
                 world_size: int = 1) -> None:
        self.examples = list(examples)
        self.batch_size, self.pad_id, self.seed = batch_size, pad_id, seed
        self.rank, self.world_size = rank, world_size
        self.global_batch = batch_size * world_size
        self.batches_per_epoch = len(self.examples) // self.global_batch
        if self.batches_per_epoch == 0:
            raise OpcError(f"{len(self.examples)} training conversations: fewer than one global batch of "
                           f"{self.global_batch}", hint="lower micro_batch_size / grad_accum_steps or add data")
        self.fingerprint = examples_fingerprint(self.examples)
        self.epoch = 0
        self.batch_in_epoch = 0
        self._perm: tuple[int, np.ndarray] | None = None

    def _order(self, epoch: int) -> np.ndarray:
        if self._perm is None or self._perm[0] != epoch:
            self._perm = (epoch, epoch_order(len(self.examples), self.seed, epoch))
        return self._perm[1]

    def next_batch(self):
        if self.batch_in_epoch >= self.batches_per_epoch:
            self.epoch += 1
            self.batch_in_epoch = 0
        start = self.batch_in_epoch * self.global_batch + self.rank * self.batch_size
        ids = self._order(self.epoch)[start:start + self.batch_size]
        self.batch_in_epoch += 1
        return pad_batch([self.examples[int(i)] for i in ids], self.pad_id)

    def __iter__(self) -> Iterator[Any]:
        while True:
            yield self.next_batch()

    def state_dict(self) -> dict[str, Any]:
        return {"version": STATE_VERSION, "epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch,
                "seed": self.seed, "global_batch": self.global_batch, "fingerprint": self.fingerprint}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        for key, mine in (("seed", self.seed), ("global_batch", self.global_batch), ("fingerprint", self.fingerprint)):
            if state.get(key) != mine:
                raise OpcError(f"cannot resume the SFT loader exactly: checkpoint has {key}={state.get(key)!r}, "
                               f"this run {mine!r}", hint="resume with the same conversations, seed and batch size")
        self.epoch, self.batch_in_epoch = int(state["epoch"]), int(state["batch_in_epoch"])


def eval_batches(examples: Sequence[SFTExample], batch_size: int, pad_id: int, rank: int = 0,
                 world_size: int = 1) -> Iterator[Any]:
    """Every validation conversation once, in stored order; rank ``r`` of ``w`` takes every w-th batch."""
    for b, s in enumerate(range(0, len(examples), batch_size)):
        if b % world_size == rank:
            yield pad_batch(examples[s:s + batch_size], pad_id)


def assistant_loss(module, examples: Sequence[SFTExample], batch_size: int, pad_id: int, device=None, rank: int = 0,
                   world_size: int = 1) -> tuple[float, float]:
    """(summed assistant-token loss, assistant-token count) over ``examples`` on this rank (no gradients)."""
    import torch

    total, count = 0.0, 0.0
    was_training = module.training
    module.eval()
    with torch.no_grad():
        for x, y in eval_batches(examples, batch_size, pad_id, rank, world_size):
            x, y = x.to(device), y.to(device)
            total += float(module(x, targets=y).double())
            count += float((y != IGNORE).sum())
    module.train(was_training)
    return total, count


class SFTTrainData:
    """The SFT side of the one training loop (``train_loop.train(..., data=SFTTrainData(...))``)."""

    def __init__(self, train: Sequence[SFTExample], val: Sequence[SFTExample], pad_id: int) -> None:
        self.train, self.val, self.pad_id = list(train), list(val), pad_id

    def loader(self, settings, dist) -> SFTBatchLoader:
        return SFTBatchLoader(self.train, settings.micro_batch_size, self.pad_id, seed=settings.seed, rank=dist.rank,
                              world_size=dist.world_size)

    def evaluate(self, engine, settings, dist, device) -> float:
        """Mean loss per assistant token over the whole validation split."""
        import torch

        total, count = assistant_loss(engine.eval_module(), self.val, settings.micro_batch_size, self.pad_id, device,
                                      dist.rank, dist.world_size)
        sums = torch.tensor([total, count], dtype=torch.float64, device=device)
        dist.all_reduce_sum(sums)
        return float(sums[0] / sums[1]) if float(sums[1]) else float("nan")

    def baseline(self) -> None:
        return None
