"""The fastText code-related classifier: pre-tokenized lines in, P(code-related) out; deterministic.

    page (url, title, text) ──features──▶ "url tokens | title tokens | text tokens" ──PreTokenizer──▶ line
    [(line, 0/1), ...] ──train──▶ fasttext model (thread=1, seed)     line ──score──▶ P(__label__1)

Determinism: fastText's supervised trainer is Hogwild SGD; with ``thread=1`` and a fixed ``seed`` it
should give a byte-identical ``model.bin`` for the same training file. The pinned ``fasttext-numpy2``
0.10.4 wheel does not: it reads memory it never initialised (measured: 7 of 12 trainings of one file in
one process failed with "Encountered NaN", and 1 of the 5 others gave a different model). Training
therefore runs with glibc's ``M_PERTURB`` set so that every ``malloc`` returns zero-filled memory (what
the reference fastText assumes for its output matrix): 12 of 12 trainings then give the same bytes.
The training file is written in the caller's (deterministic) order.

The model directory (``opc recall train`` output, one per iteration in the stage) holds:

    model.bin         the fastText model
    tokenizer.json    the BPE (absent for the plain-words ablation)
    classifier.json   threshold, feature settings, fastText hyper-parameters

What it does NOT do: choose the threshold (``crossval.py`` does), or read pages (``pages.py``).
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import re
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from opc_core.errors import OpcError
from opc_recall.bpe import PreTokenizer, load_bpe
from opc_recall.domains import host_of

log = logging.getLogger("opc.recall")
_URL_WORDS = re.compile(r"[A-Za-z]{2,}")
_NEWLINES = re.compile(r"[\r\n\v\f\x85\u2028\u2029]")


class FastTextConfig(BaseModel):
    """fastText supervised hyper-parameters (``thread`` is always 1: determinism)."""

    model_config = ConfigDict(extra="forbid")
    dim: int = Field(64, ge=2)
    epoch: int = Field(20, ge=1)
    lr: float = Field(0.5, gt=0)
    word_ngrams: int = Field(2, ge=1)
    min_count: int = Field(2, ge=1)
    bucket: int = Field(200_000, ge=1000)
    loss: str = "softmax"


class FeatureConfig(BaseModel):
    """What of a page the classifier reads."""

    model_config = ConfigDict(extra="forbid")
    bpe: bool = Field(True, description="BPE sub-word tokens (False: lower-cased whitespace words, the ablation)")
    bpe_vocab_size: int = Field(8000, ge=300)
    tokenizer: str | None = Field(None, description="a tokenizer.json to use instead of training one")
    max_chars: int = Field(6000, ge=200, description="text read per page (the opening carries the topic)")
    url_words: bool = Field(True, description="words of the URL path (not the host: hosts do not generalise)")
    title: bool = True


def page_text(url: str | None, title: str | None, text: str | None, features: FeatureConfig) -> str:
    """The text the classifier reads: URL path words and title, then the page text (one line)."""
    parts = []
    if features.url_words and url:
        host = host_of(url)
        rest = url.split(host, 1)[1] if host and host in url else url
        parts.append("urlpath " + " ".join(_URL_WORDS.findall(rest)[:24]).lower())
    if features.title and title:
        parts.append(title)
    parts.append(text or "")
    return _NEWLINES.sub(" ", "\n".join(parts).replace("\n", " "))


@dataclass
class Classifier:
    """A trained model with its pre-tokenizer and threshold."""

    model: Any
    pretok: PreTokenizer
    features: FeatureConfig
    threshold: float = 0.5

    def lines(self, texts: list[str]) -> list[str]:
        return [_NEWLINES.sub(" ", line) for line in self.pretok(texts)]

    def score_lines(self, lines: list[str]) -> np.ndarray:
        """P(code-related) per line; an empty line scores 0."""
        out = np.zeros(len(lines), dtype=np.float64)
        idx = [i for i, line in enumerate(lines) if line.strip()]
        if not idx:
            return out
        labels, probs = self.model.predict([lines[i] for i in idx], k=2)
        for i, labs, ps in zip(idx, labels, probs, strict=True):
            p1 = 0.0
            for lab, p in zip(labs, ps, strict=True):
                if lab == "__label__1":
                    p1 = float(p)
            out[i] = min(1.0, max(0.0, p1))
        return out

    def score(self, texts: list[str]) -> np.ndarray:
        """P(code-related) per page text (already assembled by ``page_text``); empty text scores 0."""
        scores = self.score_lines(self.lines(texts))
        scores[[i for i, t in enumerate(texts) if not t.strip()]] = 0.0
        return scores

    def save(self, directory: str | Path, extra: dict[str, Any] | None = None) -> None:
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        self.model.save_model(str(d / "model.bin"))
        if self.pretok.tokenizer is not None:
            (d / "tokenizer.json").write_text(self.pretok.tokenizer.to_str(), encoding="utf-8")
        meta = {"threshold": self.threshold, "features": self.features.model_dump(mode="json"), **(extra or {})}
        (d / "classifier.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")


_M_PERTURB = -6  # glibc mallopt: fill malloc'ed bytes with ~value (0xFF -> zeros)


@contextmanager
def zero_filled_malloc():
    """While training, ``malloc`` returns zeroed memory (see the module docstring); restored afterwards."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        log.warning("not glibc: fastText training may not be reproducible (fasttext-numpy2 reads uninitialised memory)")
        yield
        return
    libc.mallopt(_M_PERTURB, 0xFF)
    try:
        yield
    finally:
        libc.mallopt(_M_PERTURB, 0)


def train_fasttext(lines: list[str], labels: list[int], params: FastTextConfig, seed: int):
    """fastText on (line, label) pairs in the given order; thread=1 and ``seed`` make it reproducible."""
    import fasttext

    fasttext.FastText.eprint = lambda *a, **k: None  # its load-time warning goes to stderr on every load
    with tempfile.TemporaryDirectory(prefix="opc-recall-ft-") as tmp:
        path = os.path.join(tmp, "train.txt")
        with open(path, "w", encoding="utf-8") as f:
            for line, y in zip(lines, labels, strict=True):
                f.write(f"__label__{int(y)} {line}\n")
        lr = params.lr
        for _ in range(6):
            try:
                with zero_filled_malloc():
                    return fasttext.train_supervised(
                        input=path, dim=params.dim, epoch=params.epoch, lr=lr, wordNgrams=params.word_ngrams,
                        minCount=params.min_count, bucket=params.bucket, loss=params.loss, thread=1, seed=seed,
                        verbose=0,
                    )
            except RuntimeError as exc:  # "Encountered NaN": SGD diverged; a smaller step is deterministic too
                if "NaN" not in str(exc):
                    raise
                log.warning("fastText diverged at lr %.4g; retrying at %.4g", lr, lr / 2)
                lr /= 2
        raise OpcError(f"fastText diverged down to lr {lr:.4g}", hint="lower classifier.fasttext.lr")


def load_classifier(directory: str | Path) -> Classifier:
    """A model directory written by ``Classifier.save`` (``opc recall train`` or a stage's ``models/``)."""
    import fasttext

    fasttext.FastText.eprint = lambda *a, **k: None
    d = Path(directory)
    meta = json.loads((d / "classifier.json").read_text(encoding="utf-8"))
    features = FeatureConfig.model_validate(meta["features"])
    tok = load_bpe(d / "tokenizer.json") if (d / "tokenizer.json").exists() else None
    return Classifier(fasttext.load_model(str(d / "model.bin")), PreTokenizer(tok, features.max_chars), features,
                      float(meta["threshold"]))
