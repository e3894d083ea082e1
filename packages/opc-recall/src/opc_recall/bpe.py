"""The recall classifier's own byte-level BPE: text -> space-separated sub-word tokens for fastText.

    seeds + pool text ──train_bpe──▶ tokenizers.Tokenizer (NFKC, lower-case, byte-level BPE)
    page text ──pre_tokenize──▶ "Ġdef Ġfoo ( x ) : ..."   one fastText "word" per BPE token

OpenCoder pre-tokenizes with a BPE tokenizer before fastText because code and Chinese have no spaces
between words; whitespace splitting would turn ``self.assertEqual(a,b)`` into one rare word. Recall
runs before the pretraining tokenizer exists, so it trains its own small one on its seeds and pool
(or loads a ``tokenizer.json`` a recipe names). Training uses the Rust trainer on one thread's worth of
input order (the texts are fed in a fixed order), so the same texts give the same vocabulary.

What it does NOT do: share a vocabulary with the pretraining tokenizer, or keep text past ``max_chars``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

_SPACE = re.compile(r"\s+")
PLAIN = "plain"  # the ablation baseline: lower-cased whitespace words, no BPE


def train_bpe(texts: Iterable[str], vocab_size: int, min_frequency: int = 2):
    """A byte-level BPE over ``texts`` (NFKC + lower-case), deterministic for the same texts in the same order."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[])
    tok.train_from_iterator(list(texts), trainer=trainer)
    return tok


def load_bpe(path: str | Path):
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(path))


class PreTokenizer:
    """Turns page text into the space-separated token line fastText reads (BPE tokens or plain words)."""

    def __init__(self, tokenizer=None, max_chars: int = 6000) -> None:
        self.tokenizer = tokenizer
        self.max_chars = max_chars

    def __call__(self, texts: list[str]) -> list[str]:
        texts = [t[: self.max_chars] for t in texts]
        if self.tokenizer is None:
            return [_SPACE.sub(" ", t.lower()).strip() for t in texts]
        encs = self.tokenizer.encode_batch(texts, add_special_tokens=False)
        return [" ".join(e.tokens) for e in encs]
