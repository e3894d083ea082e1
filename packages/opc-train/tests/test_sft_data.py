"""SFT data: shapes normalised, malformed conversations quarantined with reasons, the loss mask aligned with
transformers' apply_chat_template, and a padded batch scoring exactly what its conversations score alone."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from opc_train.conversations import Quarantined, normalise_record, read_conversations
from opc_train.sft_data import SFTBatchLoader, pad_batch, render_example, truncate

MULTI_TURN = [
    {"role": "system", "content": "You are a careful Python programmer."},
    {"role": "user", "content": "Reverse a list in place."},
    {"role": "assistant", "content": "```python\ndef rev(xs):\n    xs.reverse()\n```"},
    {"role": "user", "content": "And return it?\n"},
    {"role": "assistant", "content": "\n    return xs  # indented start ✓"},
]


def test_openai_sharegpt_and_alpaca_normalise_to_one_schema():
    want = [{"role": "user", "content": "Add 1 and 2.\n\nin Python"}, {"role": "assistant", "content": "1 + 2"}]
    assert normalise_record({"messages": want}) == want
    assert normalise_record({"conversations": [{"from": "human", "value": "Add 1 and 2.\n\nin Python"},
                                               {"from": "gpt", "value": "1 + 2"}]}) == want
    assert normalise_record({"instruction": "Add 1 and 2.", "input": "in Python", "output": "1 + 2"}) == want
    assert normalise_record({"instruction": "x", "input": "", "output": "y"})[0]["content"] == "x"


@pytest.mark.parametrize(("row", "reason"), [
    ({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "  "}]}, "empty_assistant_turn"),
    ({"messages": [{"role": "user", "content": "hi"}, {"role": "robot", "content": "x"}]}, "unknown_role"),
    ({"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"},
                   {"role": "assistant", "content": "c"}]}, "non_alternating_turns"),
    ({"messages": [{"role": "assistant", "content": "c"}]}, "non_alternating_turns"),
    ({"messages": [{"role": "user", "content": "a"}]}, "no_assistant_turn"),
    ({"messages": [{"role": "user", "content": "a<|im_end|>"}, {"role": "assistant", "content": "b"}]},
     "control_token_in_content"),
    ({"text": "just text"}, "unknown_shape"),
])
def test_malformed_conversations_are_quarantined_with_their_reason(row, reason):
    with pytest.raises(Quarantined) as info:
        normalise_record(row)
    assert info.value.reason == reason


def test_reader_counts_every_row_as_kept_or_quarantined(tmp_path):
    rows = [{"messages": MULTI_TURN}, {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": ""}]},
            {"instruction": "i", "output": "o", "origin": "seed-1"}, {"messages": [{"role": "tool", "content": "x"}]}]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    quarantine: list[dict] = []
    kept = list(read_conversations(str(tmp_path), quarantine))
    assert [c.index for c in kept] == [0, 2] and kept[1].meta == {"origin": "seed-1"}
    assert sorted(q["reason"] for q in quarantine) == ["empty_assistant_turn", "unknown_role"]
    assert len(kept) + len(quarantine) == len(rows)


@pytest.fixture(scope="module")
def trained_tok(corpus_texts, tmp_path_factory):
    from opc_train.tokenizer import save_tokenizer, train_tokenizer

    tok = train_tokenizer(corpus_texts[:80], vocab_size=800)
    out = tmp_path_factory.mktemp("tok")
    save_tokenizer(tok, str(out))
    return tok, str(out)


def test_rendered_ids_match_apply_chat_template_and_the_mask_covers_exactly_the_answers(trained_tok, monkeypatch):
    from transformers import AutoTokenizer

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    tok, path = trained_tok
    hf = AutoTokenizer.from_pretrained(path)
    ex = render_example(tok, MULTI_TURN)
    theirs = hf.apply_chat_template(MULTI_TURN, tokenize=True)
    theirs = theirs["input_ids"] if hasattr(theirs, "keys") else theirs
    assert ex.ids.tolist() == list(theirs)
    # the masked tokens, decoded run by run, are each answer followed by its <|im_end|>, nothing else
    runs, current = [], []
    for i, m in zip(ex.ids.tolist(), ex.mask.tolist(), strict=True):
        if m:
            current.append(i)
        elif current:
            runs.append(current)
            current = []
    decoded = [tok.decode(r, skip_special_tokens=False) for r in runs]
    answers = [m["content"] for m in MULTI_TURN if m["role"] == "assistant"]
    assert len(decoded) == 2
    for got, answer in zip(decoded, answers, strict=True):
        assert got.endswith("<|im_end|>")
        body = got[: -len("<|im_end|>")]
        # a token may straddle the header's newline and the answer's first characters; it stays unmasked
        assert answer.endswith(body) and len(answer) - len(body) <= 1
    assert ex.ids[ex.mask].tolist().count(tok.token_to_id("<|im_end|>")) == 2
    assert not ex.mask[0]


def test_truncation_policy(trained_tok):
    tok, _ = trained_tok
    ex = render_example(tok, MULTI_TURN)
    assert truncate(ex, len(ex.ids), "drop") is ex
    assert truncate(ex, len(ex.ids) - 1, "drop") is None
    head = truncate(ex, len(ex.ids) - 3, "truncate")
    assert head is not None and len(head.ids) == len(ex.ids) - 3
    assert truncate(ex, 8, "truncate") is None  # nothing of an answer left: over_long


def test_padded_batch_gives_the_same_loss_as_conversations_one_by_one(trained_tok):
    from opc_train.model import ModelConfig, Transformer

    tok, _ = trained_tok
    chats = [MULTI_TURN, MULTI_TURN[1:3], [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"}]]
    examples = [render_example(tok, c) for c in chats]
    torch.manual_seed(0)
    model = Transformer(ModelConfig(vocab_size=832, dim=32, n_layers=2, n_heads=4, n_kv_heads=2, ffn_dim=64,
                                    max_seq_len=256)).eval()
    pad = tok.token_to_id("<|pad|>")
    x, y = pad_batch(examples, pad)
    assert len({len(e.ids) for e in examples}) == 3  # really padded
    with torch.no_grad():
        batched = model(x, targets=y).double()
        alone = sum(model(pad_batch([e], pad)[0], targets=pad_batch([e], pad)[1]).double() for e in examples)
    assert int((y != -100).sum()) == sum(e.n_trainable for e in examples)
    torch.testing.assert_close(batched, alone, rtol=1e-5, atol=1e-5)


def test_loader_resumes_at_the_exact_next_batch(trained_tok):
    tok, _ = trained_tok
    examples = [render_example(tok, [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "a" * i}])
                for i in range(1, 12)]
    a = SFTBatchLoader(examples, 2, pad_id=2, seed=7)
    for _ in range(7):  # crosses an epoch (5 batches per epoch)
        a.next_batch()
    b = SFTBatchLoader(examples, 2, pad_id=2, seed=7)
    b.load_state_dict(a.state_dict())
    for _ in range(4):
        xa, ya = a.next_batch()
        xb, yb = b.next_batch()
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    other = SFTBatchLoader(examples[:-1], 2, pad_id=2, seed=7)
    with pytest.raises(Exception, match="fingerprint"):
        other.load_state_dict(a.state_dict())
    assert np.all(np.diff([len(e.ids) for e in examples]) >= 0)
