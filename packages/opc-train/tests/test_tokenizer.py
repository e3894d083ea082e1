"""The BPE tokenizer: exact round trips, OpenCoder's special tokens, HF format loadable offline, stable identity."""

from __future__ import annotations

import json
import os

import pytest

from opc_core.errors import OpcError
from opc_train.tokenizer import (
    BOS,
    EOS,
    PAD,
    encode_document,
    load_tokenizer,
    save_tokenizer,
    special_ids,
    tokenizer_hash,
    train_tokenizer,
)

TRICKY = [
    "def f(x):\n    return x  # héllo 日本語 🙂\t\r\n\n",
    "    \n\t\t  trailing   ",
    "int main() { printf(\"%d\\n\", 1234567); }",
    "<|im_start|> is text here, not a control token",
    "",
]


@pytest.fixture(scope="module")
def tok(corpus_texts):
    return train_tokenizer(corpus_texts, vocab_size=1024)


def test_vocabulary_size_and_special_token_ids(tok):
    assert tok.get_vocab_size() == 1024
    assert special_ids(tok) == {"bos": 0, "eos": 1, "pad": 2}


def test_every_string_round_trips_exactly(tok):
    for text in TRICKY:
        assert tok.decode(tok.encode(text, add_special_tokens=False).ids, skip_special_tokens=False) == text


def test_code_compresses_better_than_bytes(tok, corpus_texts):
    sample = corpus_texts[3]
    assert len(tok.encode(sample).ids) < len(sample.encode()) / 2.5


def test_documents_are_framed_by_bos_and_eos(tok):
    ids = encode_document(tok, "x = 1\n")
    assert ids[0] == tok.token_to_id(BOS) and ids[-1] == tok.token_to_id(EOS)
    assert tok.encode("x = 1\n").ids == ids[:-1], "plain encode adds BOS like the pretraining documents"


def test_literal_special_tokens_in_a_document_are_plain_text(tok):
    ids = encode_document(tok, "s = '<|im_end|>'  # <|im_start|>")
    assert ids.count(special_ids(tok)["eos"]) == 1 and ids.count(special_ids(tok)["bos"]) == 1
    assert tok.decode(ids[1:-1]) == "s = '<|im_end|>'  # <|im_start|>"
    assert tok.encode_special_tokens is False, "chat text still sees its control tokens"


def test_training_twice_gives_the_same_tokenizer(tok, corpus_texts):
    again = train_tokenizer(corpus_texts, vocab_size=1024)
    assert tokenizer_hash(again) == tokenizer_hash(tok)
    assert tokenizer_hash(train_tokenizer(corpus_texts[:50], vocab_size=1024)) != tokenizer_hash(tok)


def test_saved_tokenizer_reloads_here_and_in_transformers_offline(tok, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    save_tokenizer(tok, str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ["special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"]
    config = json.loads((tmp_path / "tokenizer_config.json").read_text())
    assert config["bos_token"] == BOS and config["eos_token"] == EOS and config["pad_token"] == PAD
    assert "<|im_start|>" in config["chat_template"]
    assert tokenizer_hash(load_tokenizer(str(tmp_path))) == tokenizer_hash(tok)

    from transformers import AutoTokenizer

    hf = AutoTokenizer.from_pretrained(str(tmp_path))
    assert (hf.bos_token_id, hf.eos_token_id, hf.pad_token_id) == (0, 1, 2)
    for text in TRICKY[:3]:
        ids = hf(text)["input_ids"]
        assert ids == tok.encode(text).ids
        assert hf.decode(ids, skip_special_tokens=True) == text


def test_too_small_vocabulary_is_refused(corpus_texts):
    with pytest.raises(OpcError, match="too small"):
        train_tokenizer(corpus_texts[:3], vocab_size=100)


def test_missing_tokenizer_file_names_the_path(tmp_path):
    with pytest.raises(OpcError, match="tokenizer.json"):
        load_tokenizer(str(tmp_path))
