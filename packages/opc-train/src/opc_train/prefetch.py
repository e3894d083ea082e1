"""A background thread that prepares training batches ahead of the loop, without moving the resume point.

    TokenBatchLoader (numpy gather, the position)          PrefetchingLoader (what the loop calls)
        producer thread:  batch = loader.next_batch()  ─▶  queue of (x, y, position after batch)
                          pin_memory() on CUDA                 depth = ``prefetch`` batches
        loop:             x, y = prefetching.next_batch()   ◀─ the oldest; remembers its position
                          prefetching.state_dict()           = the position after the last batch the
                                                               loop CONSUMED, not the last one gathered

So a checkpoint written after step N holds the position after step N's batches, exactly as without
prefetching, and a run resumed from it sees the very next batch: the SIGKILL exact-resume test runs
with prefetching on. Pinned host memory lets ``x.to(cuda, non_blocking=True)`` copy asynchronously.
The batches and their order are the wrapped loader's; only their timing changes. Resume state is
loaded before the first ``next_batch`` (the thread starts lazily, on the first call). Not here: the
order or content of batches (``data_loader.py``).
"""

from __future__ import annotations

import queue
import threading
from typing import Any

from opc_train.data_loader import TokenBatchLoader


class PrefetchingLoader:
    """``next_batch`` / ``state_dict`` / ``load_state_dict`` of a ``TokenBatchLoader``, ``depth`` batches ahead."""

    def __init__(self, loader: TokenBatchLoader, depth: int = 2, pin_memory: bool = False) -> None:
        if depth < 1:
            raise ValueError(f"prefetch depth must be >= 1 (got {depth})")
        self.loader = loader
        self.depth = depth
        self.pin_memory = pin_memory
        self._queue: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._consumed_state = loader.state_dict()

    def _produce(self) -> None:
        assert self._queue is not None
        try:
            while not self._stop.is_set():
                x, y = self.loader.next_batch()
                if self.pin_memory:
                    x, y = x.pin_memory(), y.pin_memory()
                item = (x, y, self.loader.state_dict())
                while not self._stop.is_set():
                    try:
                        self._queue.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
        except BaseException as exc:  # handed to the loop, which raises it
            self._queue.put(exc)

    def next_batch(self):
        if self._thread is None:
            self._queue = queue.Queue(maxsize=self.depth)
            self._thread = threading.Thread(target=self._produce, name="opc-batch-prefetch", daemon=True)
            self._thread.start()
        assert self._queue is not None
        item = self._queue.get()
        if isinstance(item, BaseException):
            raise item
        x, y, self._consumed_state = item
        return x, y

    def state_dict(self) -> dict[str, Any]:
        """The position after the last batch handed to the loop (what a checkpoint must hold)."""
        return dict(self._consumed_state)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self._thread is not None:
            raise RuntimeError("load the loader state before the first batch is taken")
        self.loader.load_state_dict(state)
        self._consumed_state = self.loader.state_dict()

    def close(self) -> None:
        """Stop the thread (it may be blocked on a full queue); batches gathered ahead are dropped."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
