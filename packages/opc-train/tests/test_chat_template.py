"""One ChatML renderer: our Python renderer, the Jinja template and transformers' apply_chat_template agree."""

from __future__ import annotations

import pytest

from opc_core.chat_template import CHAT_TEMPLATE, assistant_spans, render_chat
from opc_core.errors import OpcError
from opc_train.tokenizer import save_tokenizer, train_tokenizer

CHATS = [
    [{"role": "user", "content": "Write a function that adds two numbers."}],
    [
        {"role": "system", "content": "You are a careful Python programmer."},
        {"role": "user", "content": "Reverse a list\nin place, please: [1, 2, 3]"},
        {"role": "assistant", "content": "```python\ndef rev(xs):\n    xs.reverse()\n```"},
        {"role": "user", "content": "Now in C ✓"},
    ],
    [{"role": "user", "content": ""}, {"role": "assistant", "content": "  spaces  \n\n"}],
]


@pytest.fixture(scope="module")
def hf_and_tok(corpus_texts, tmp_path_factory):
    from transformers import AutoTokenizer

    tok = train_tokenizer(corpus_texts[:80], vocab_size=800)
    out = tmp_path_factory.mktemp("tok")
    save_tokenizer(tok, str(out))
    return AutoTokenizer.from_pretrained(str(out)), tok


def test_render_chat_is_chatml():
    text = render_chat(CHATS[0], add_generation_prompt=True)
    assert text == ("<|im_start|>user\nWrite a function that adds two numbers.<|im_end|>\n"
                    "<|im_start|>assistant\n")


@pytest.mark.parametrize("chat", CHATS)
@pytest.mark.parametrize("gen", [False, True])
def test_apply_chat_template_gives_the_same_ids_as_our_renderer(hf_and_tok, chat, gen, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hf, tok = hf_and_tok
    assert hf.chat_template == CHAT_TEMPLATE
    assert hf.apply_chat_template(chat, tokenize=False, add_generation_prompt=gen) == render_chat(chat, gen)
    theirs = hf.apply_chat_template(chat, tokenize=True, add_generation_prompt=gen)
    theirs = theirs["input_ids"] if hasattr(theirs, "keys") else theirs
    ours = tok.encode(render_chat(chat, gen), add_special_tokens=False).ids
    assert list(theirs) == ours
    assert ours[0] == tok.token_to_id("<|im_start|>")


def test_assistant_spans_cover_answers_and_their_end_token():
    text, spans = assistant_spans(CHATS[1])
    assert text == render_chat(CHATS[1])
    assert [text[a:b] for a, b in spans] == ["```python\ndef rev(xs):\n    xs.reverse()\n```<|im_end|>"]


def test_bad_messages_are_refused_with_the_index():
    with pytest.raises(OpcError, match="message 1 has role 'robot'"):
        render_chat([{"role": "user", "content": "hi"}, {"role": "robot", "content": "beep"}])
    with pytest.raises(OpcError, match="no text content"):
        render_chat([{"role": "user", "content": None}])
