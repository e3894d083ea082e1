"""Validation during and after training: the model's loss, and the unigram floor it must beat.

    evaluate(engine)      mean token loss over the first ``eval_batches`` global validation batches
    unigram_val_loss()    the add-one unigram model (``unigram_baseline.py``) on exactly those targets

Both read the validation split in stored order (``data_loader.eval_batches``), so every call scores
the same tokens: periodic values are comparable, and a resumed run logs the same ones. Not here:
benchmark evaluation of a finished model (opc-eval).
"""

from __future__ import annotations

import torch

from opc_train.data_loader import eval_batches
from opc_train.engines import autocast
from opc_train.process_group import DistContext
from opc_train.token_shards import TokenShards
from opc_train.train_settings import TrainSettings
from opc_train.unigram_baseline import fit_unigram, unigram_loss


@torch.no_grad()
def evaluate(engine, val_shards: TokenShards, settings: TrainSettings, dist: DistContext, device: torch.device) -> float:
    """Mean token loss over the first ``eval_batches`` global validation batches (same on every call)."""
    module = engine.eval_module()
    was_training = module.training
    module.eval()
    total = torch.zeros(2, dtype=torch.float64, device=device)
    for x, y in eval_batches(val_shards, settings.seq_len, settings.micro_batch_size, settings.eval_batches,
                             dist.rank, dist.world_size):
        x, y = x.to(device), y.to(device)
        with autocast(device):
            logits = module(x)
        loss = torch.nn.functional.cross_entropy(logits.float().view(-1, logits.shape[-1]), y.reshape(-1),
                                                 reduction="sum")
        total += torch.stack([loss.double(), torch.tensor(float(y.numel()), dtype=torch.float64, device=device)])
    dist.all_reduce_sum(total)
    module.train(was_training)
    return float(total[0] / total[1])


def unigram_val_loss(train_shards: TokenShards, val_shards: TokenShards, settings: TrainSettings,
                     dist: DistContext) -> float:
    """The unigram baseline on exactly the validation targets ``evaluate`` scores."""
    log_probs = fit_unigram(train_shards.token_counts())
    targets = (y.numpy() for _, y in eval_batches(val_shards, settings.seq_len,
                                                   settings.micro_batch_size * dist.world_size,
                                                   settings.eval_batches))
    return unigram_loss(log_probs, targets)
