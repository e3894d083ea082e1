"""opc-train: tokenizer, token data, the LLaMA-style model and its training, for the ``tokenize``,
``pretrain``, ``anneal``, ``sft1`` and ``sft2`` stages.

    kept code (data stage) ─▶ tokenizer.py (byte-level BPE, ChatML specials) ─▶ token_shards.py
                           ─▶ data_loader.py (resumable) ─▶ train_loop.py (model.py, wsd_schedule.py,
                              checkpoint.py, optimizer.py, validation.py, metrics.py;
                              engines.py: one process | DDP | DeepSpeed; launched by distributed.py)
    anneal_stage.py  = a pretrain checkpoint + anneal_mixture.py (token budgets per source) ─▶ train_loop.py
    sft_stage.py     = conversations.py (+ code_conversations.py) ─▶ sft_data.py (ChatML ids, assistant
                       mask, padded batches) ─▶ train_loop.py (same loop, ``data=SFTTrainData``)

The public face is the stage configs; import the modules above for the rest. They load lazily
(``__getattr__``), so importing one module of the package (``opc_train.tokenizer`` from eval) does not
import the training code, and each stage's cache key can name only the modules it really runs.
"""

from __future__ import annotations

from typing import Any

__all__ = ["AnnealConfig", "PretrainConfig", "SFTConfig", "TokenizeConfig"]


def __getattr__(name: str) -> Any:
    if name == "PretrainConfig":
        from opc_train.pretrain_stage import PretrainConfig

        return PretrainConfig
    if name == "TokenizeConfig":
        from opc_train.tokenize_stage import TokenizeConfig

        return TokenizeConfig
    if name == "AnnealConfig":
        from opc_train.anneal_stage import AnnealConfig

        return AnnealConfig
    if name == "SFTConfig":
        from opc_train.sft_stage import SFTConfig

        return SFTConfig
    raise AttributeError(name)
