"""A training run in its own process, for the tests that kill, resume or distribute one.

    python train_worker.py data DIR                       learnable synthetic token shards in DIR/train, DIR/val
    python train_worker.py train DIR RUN_DIR [--max-steps N] [--slow S] [--micro B] [--accum A]

``--slow S`` sleeps S seconds per micro-batch (test-side, by wrapping the loader) so a test can
SIGKILL the run at a chosen point. The token data are arithmetic sequences (learnable beyond unigram
statistics) written through the tokenize stage's own ``TokenShardWriter``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from opc_train.model import ModelConfig
from opc_train.token_shards import TokenFingerprint, TokenShards, TokenShardWriter
from opc_train.train_loop import TrainSettings
from opc_train.wsd_schedule import WSDSchedule

FINGERPRINT = TokenFingerprint("f" * 64, "uint16", 0, 1, 2, 256)
MODEL = ModelConfig(vocab_size=256, dim=64, n_layers=2, n_heads=4, n_kv_heads=2, ffn_dim=128, max_seq_len=32)


def make_token_data(out: str, n_train_docs: int = 150, n_val_docs: int = 20, seed: int = 0) -> tuple[str, str]:
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train_docs), ("val", n_val_docs)):
        w = TokenShardWriter(f"{out}/{split}", FINGERPRINT, ["code"], shard_tokens=8000)
        for _ in range(n):
            a, d, length = rng.integers(3, 250), rng.integers(1, 5), rng.integers(20, 120)
            w.add([0] + [3 + (a + d * i) % 250 for i in range(length)] + [1], 0)
        w.close()
    return f"{out}/train", f"{out}/val"


def settings(max_steps: int = 30, micro: int = 8, accum: int = 1, **kw) -> TrainSettings:
    base = dict(max_steps=max_steps, seq_len=32, micro_batch_size=micro, grad_accum_steps=accum,
                schedule=WSDSchedule(peak_lr=3e-3, total_steps=max_steps, warmup_steps=3, decay_steps=6),
                eval_every=10, eval_batches=2, checkpoint_every=10, keep_last=2, log_every=1000, seed=7)
    base.update(kw)
    return TrainSettings(**base)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["data", "train"])
    p.add_argument("data_dir")
    p.add_argument("run_dir", nargs="?")
    p.add_argument("--max-steps", type=int, default=30)
    p.add_argument("--slow", type=float, default=0.0)
    args = p.parse_args()
    if args.cmd == "data":
        make_token_data(args.data_dir)
        return
    from opc_train import data_loader
    from opc_train.train_loop import train

    if args.slow:
        original = data_loader.TokenBatchLoader.next_batch

        def slow_next_batch(self):
            time.sleep(args.slow)
            return original(self)

        data_loader.TokenBatchLoader.next_batch = slow_next_batch
    tr = TokenShards.open(f"{args.data_dir}/train")
    va = TokenShards.open(f"{args.data_dir}/val", expect=tr.fingerprint)
    train(MODEL, settings(args.max_steps), tr, va, args.run_dir)


if __name__ == "__main__":
    main()
