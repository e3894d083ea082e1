"""A checkpoint holds only the random streams training owns: other code drawing from Python's global
``random`` or numpy's global generator (Prefect picks its server port with ``random.choice``) must not
change the checkpoint's bytes, or the same training gives different fingerprints under ``opc reproduce``."""

from __future__ import annotations

import io
import random

import numpy as np
import torch

from opc_train.checkpoint import rng_state, set_rng_state


def _bytes(state: dict) -> bytes:
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


def test_draws_from_global_generators_by_other_code_do_not_change_the_checkpointed_state():
    torch.manual_seed(1234)
    random.seed(1234)
    np.random.seed(1234)
    before = _bytes(rng_state())
    random.choice(range(8000, 9000))
    np.random.rand(3)
    assert _bytes(rng_state()) == before


def test_restored_torch_stream_continues_where_it_was_saved():
    torch.manual_seed(7)
    state = rng_state()
    expected = torch.rand(4)
    torch.rand(10)
    set_rng_state(state)
    assert torch.equal(torch.rand(4), expected)
