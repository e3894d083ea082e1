"""An SFT run in its own process, for the test that kills and resumes one.

    python sft_worker.py RUN_DIR [--max-steps N] [--slow S]

Conversations are synthetic token sequences (a prompt of random tokens, then an "answer" that is an
arithmetic sequence the model can learn, masked like an assistant turn), so no tokenizer is needed; the
run starts from seeded "pretrained" weights through ``init_from`` and trains on ``SFTTrainData``,
exactly as the sft stage drives the loop. ``--slow S`` sleeps S seconds per micro-batch.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from opc_train.checkpoint import MODEL_FILE, save_weights
from opc_train.cosine_schedule import CosineSchedule
from opc_train.model import ModelConfig, Transformer
from opc_train.sft_data import SFTBatchLoader, SFTExample, SFTTrainData
from opc_train.train_loop import TrainSettings

MODEL = ModelConfig(vocab_size=256, dim=64, n_layers=2, n_heads=4, n_kv_heads=2, ffn_dim=128, max_seq_len=64)
PAD = 2


def examples(n: int, seed: int) -> list[SFTExample]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        prompt = rng.integers(3, 256, rng.integers(4, 16))
        a, d, length = rng.integers(3, 250), rng.integers(1, 5), rng.integers(6, 30)
        answer = np.array([3 + (a + d * i) % 250 for i in range(length)] + [1])
        ids = np.concatenate([[0], prompt, [1, 0], answer]).astype(np.int64)
        mask = np.zeros(len(ids), dtype=bool)
        mask[len(ids) - len(answer):] = True
        out.append(SFTExample(ids, mask))
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("run_dir")
    p.add_argument("--max-steps", type=int, default=24)
    p.add_argument("--slow", type=float, default=0.0)
    args = p.parse_args()
    from opc_train.train_loop import train

    if args.slow:
        original = SFTBatchLoader.next_batch

        def slow_next_batch(self):
            time.sleep(args.slow)
            return original(self)

        SFTBatchLoader.next_batch = slow_next_batch
    torch.manual_seed(123)
    init = Path(args.run_dir).parent / f"{Path(args.run_dir).name}-init"
    init.mkdir(parents=True, exist_ok=True)
    save_weights(Transformer(MODEL).state_dict(), init / MODEL_FILE)
    settings = TrainSettings(max_steps=args.max_steps, seq_len=64, micro_batch_size=4, grad_accum_steps=2,
                             schedule=CosineSchedule(peak_lr=3e-3, total_steps=args.max_steps, warmup_steps=2),
                             weight_decay=0.0, eval_every=8, checkpoint_every=8, keep_last=2, log_every=1000, seed=5,
                             num_threads=1, device="cpu")
    train(MODEL, settings, None, None, args.run_dir, init_from=init,
          data=SFTTrainData(examples(40, 0), examples(8, 1), PAD))


if __name__ == "__main__":
    main()
