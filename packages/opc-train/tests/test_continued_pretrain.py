"""Continued pretraining in a retrain: the model shape must be the one of the version it extends (a clear error,
not a state-dict mismatch deep in torch). The continued run itself is tested end to end in tests/test_retrain.py
(its first loss is far below a fresh model's)."""

from __future__ import annotations

import pytest

from opc_core.errors import OpcError
from opc_train.model_configs import get_model_config
from opc_train.pretrain_stage import _same_model


def test_a_changed_model_shape_cannot_continue_the_previous_weights():
    before = get_model_config("tiny", vocab_size=512).to_dict()
    _same_model(before, dict(before), "abc")  # the same model: fine
    with pytest.raises(OpcError, match=r"model differs \(dim 128 -> 64\)"):
        _same_model(before, {**before, "dim": 64}, "abc")
