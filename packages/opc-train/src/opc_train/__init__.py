"""opc-train: tokenizer, token data, the LLaMA-style model and its training, for the ``tokenize`` and
``pretrain`` stages (annealing and SFT build on the same pieces).

    kept code (data stage) ─▶ tokenizer.py (byte-level BPE, ChatML specials) ─▶ token_shards.py
                           ─▶ data_loader.py (resumable) ─▶ train_loop.py (model.py, wsd_schedule.py,
                              checkpoint.py; one process | torchrun | DeepSpeed via distributed.py)

The public face is the two stage configs; import the modules above for the rest. Heavy imports (torch)
happen inside the stage functions, so importing this package stays cheap.
"""

from opc_train.pretrain_stage import PretrainConfig
from opc_train.tokenize_stage import TokenizeConfig

__all__ = ["PretrainConfig", "TokenizeConfig"]
