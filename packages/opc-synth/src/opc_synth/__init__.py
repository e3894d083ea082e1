"""opc-synth: synthetic data validated by execution (OpenCoder's annealing and SFT sets).

    data/kept ─▶ algorithmic  (keyword selector, no teacher)       ─▶ kept/ (pretraining schema)
    data/kept ─▶ synth        (teacher + sandbox + dedup + decontam) ─▶ one sub-directory per set

The public face: the two stages (``opc run algorithmic``, ``opc run synth``), their configs, and the
execution check ``validate`` (``opc synth validate``). Attributes load lazily so that importing the
package (recipe validation, ``opc --help``) stays cheap.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ALGORITHMIC_STAGE", "STAGE", "AlgorithmicConfig", "SynthConfig", "validate"]


def __getattr__(name: str) -> Any:
    if name == "STAGE":
        from opc_synth.synth_stage import STAGE

        return STAGE
    if name == "ALGORITHMIC_STAGE":
        from opc_synth.algorithmic_stage import STAGE as ALGO

        return ALGO
    if name == "SynthConfig":
        from opc_synth.config import SynthConfig

        return SynthConfig
    if name == "AlgorithmicConfig":
        from opc_synth.algorithmic_stage import AlgorithmicConfig

        return AlgorithmicConfig
    if name == "validate":
        from opc_synth.validate import validate

        return validate
    raise AttributeError(name)
