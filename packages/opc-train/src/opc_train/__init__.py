"""opc-train: tokenizer, token data, the LLaMA-style model and its training, for the ``tokenize`` and
``pretrain`` stages (annealing and SFT build on the same pieces).

    kept code (data stage) ─▶ tokenizer.py (byte-level BPE, ChatML specials) ─▶ token_shards.py
                           ─▶ data_loader.py (resumable) ─▶ train_loop.py (model.py, wsd_schedule.py,
                              checkpoint.py, optimizer.py, validation.py, metrics.py;
                              engines.py: one process | DDP | DeepSpeed; launched by distributed.py)

The public face is the two stage configs; import the modules above for the rest. They load lazily
(``__getattr__``), so importing one module of the package (``opc_train.tokenizer`` from eval) does not
import the training code, and each stage's cache key can name only the modules it really runs.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PretrainConfig", "TokenizeConfig"]


def __getattr__(name: str) -> Any:
    if name == "PretrainConfig":
        from opc_train.pretrain_stage import PretrainConfig

        return PretrainConfig
    if name == "TokenizeConfig":
        from opc_train.tokenize_stage import TokenizeConfig

        return TokenizeConfig
    raise AttributeError(name)
