"""Natural-language signals (qsc_doc_*) on small crafted text documents."""

from __future__ import annotations

import math

from opc_data.document import Document
from opc_data.signals import compute_signals
from opc_data.signals.natural_language import detect_language
from opc_data.signals.text import SIGNALS


def _text(content: str, filename: str = "notes.md", lang: str = "en") -> Document:
    return Document(content, filename=filename, program_lang="markdown", doc_type="text", lang=lang)


def test_every_text_signal_is_computed_for_text_documents():
    s = compute_signals(_text("Hello world. This is it!\n"))
    assert set(SIGNALS) == set(s)


def test_counts_and_ratios_follow_the_reference_definitions():
    content = "The cat sat.\nThe cat sat.\n• item one\nSee <b>this</b> (https://x.org/a) ...\n"
    s = compute_signals(_text(content))
    assert s["qsc_doc_num_lines"] == 4.0
    assert s["qsc_doc_num_chars"] == float(len(content))
    assert s["qsc_doc_frac_lines_dupe_lines"] == 0.5  # 2 of 4 non-empty lines repeat
    assert s["qsc_doc_frac_lines_start_with_bullet"] == 0.25
    assert s["qsc_doc_frac_lines_end_with_readmore"] == 0.25
    tagged = len("<b>") + len("</b>") + len("(https://x.org/a)")
    assert s["qsc_doc_frac_chars_hyperlink_html_tag"] == round(tagged / len(content), 8)
    # unigram entropy over normalized words ("•" is neither punctuation nor \\w: a word of its own)
    words = "the cat sat the cat sat • item one see b this b https x org a".split()
    counts = {w: words.count(w) for w in dict.fromkeys(words)}
    ent = sum(-c / len(words) * math.log(c / len(words)) for c in counts.values())
    assert s["qsc_doc_num_words"] == len(words)
    assert s["qsc_doc_entropy_unigram"] == round(ent, 8)


def test_sentences_and_code_related_file_names():
    s = compute_signals(_text("One sentence only", filename="requirements-dev.txt"))
    assert s["qsc_doc_num_sentences"] == 1.0
    assert s["qsc_doc_cate_code_related_file_name"] == 1.0
    assert compute_signals(_text("x", filename="CHANGES.md"))["qsc_doc_cate_code_related_file_name"] == 0.0


def test_alphabet_fraction_is_null_unless_english():
    assert compute_signals(_text("abc 123", lang="zh"))["qsc_doc_frac_chars_alphabet"] is None
    assert compute_signals(_text("abc 123"))["qsc_doc_frac_chars_alphabet"] == 0.5
    assert compute_signals(_text("   "))["qsc_doc_frac_chars_alphabet"] == 0.0


def test_stop_word_fraction_counts_raw_words():
    s = compute_signals(_text("The cat and the dog\n"))
    assert s["qsc_doc_frac_words_redpajama_stop"] == round(2 / 5, 8)  # "and", "the" (case-sensitive)


def test_script_based_language_detection():
    assert detect_language("plain English text") == "en"
    assert detect_language("这是一个中文的自述文件，介绍如何使用这个库。") == "zh"
    assert detect_language("これは日本語のテキストです。") == "ja"
    assert detect_language("이것은 한국어 문서입니다") == "ko"
    assert detect_language("Café naïve résumé") == "en"
