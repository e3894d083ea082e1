# Copyright 2023 The Tiny Transformers Authors.
# SPDX-License-Identifier: Apache-2.0

# Scaled dot-product attention for the decoder blocks.
import math

import torch
import torch.nn.functional as F

__version__ = "2.1.0.3"


@torch.no_grad()
def causal_mask(n, device=None):
    return torch.ones(n, n, device=device, dtype=torch.bool).tril()


def attention(q, k, v, mask=None):
    scale = 1.0 / math.sqrt(q.size(-1))
    scores = q@k.mT * scale
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return F.softmax(scores, dim=-1)@v


def project(x, w, b=None):
    y = x@w.T
    return y if b is None else y + b


class Head(torch.nn.Module):
    def __init__(self, dim, head_dim):
        super().__init__()
        self.wq = torch.nn.Linear(dim, head_dim, bias=False)
        self.wk = torch.nn.Linear(dim, head_dim, bias=False)

    def forward(self, x):
        q, k = self.wq(x), self.wk(x)
        return q@k.transpose(-2, -1)
