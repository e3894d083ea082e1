"""Natural-language document signals (``qsc_doc_*``): computed for every ``text`` document.

    Document (doc_type == "text") ──▶ compute(doc) ──▶ {31 qsc_doc_* signals} ──▶ rules (text-en / text-zh)

Definitions are the OpenCoder reference's (``quality_signals/doc.py`` on top of RedPajama-V2's
natural-language, repetition and content signals), over ``Document``'s cached views, rounded to 8 digits.
``qsc_doc_frac_chars_alphabet`` is null for any language but English (as upstream), and
``qsc_doc_frac_words_redpajama_stop`` uses the RedPajama English stop-word list (``stop_words_en.txt``,
from stopwords-json); for other languages we return null (upstream also has fr/es/it/de lists; the
signal is not thresholded).

What it does NOT do: Chinese/Japanese segmentation (upstream uses jieba / MeCab for zh / ja documents;
we tokenise every language with wordpunct, see DIVERGENCES.md), thresholds (``opc_data.rules``).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache
from importlib import resources
from typing import Any

from opc_data.document import Document
from opc_data.signals.repetition import ngram_repetition

__all__ = ["compute", "SIGNALS"]

PRECISION = 8

SIGNALS: tuple[str, ...] = (
    "qsc_doc_frac_chars_curly_bracket",
    "qsc_doc_frac_words_redpajama_stop",
    "qsc_doc_num_sentences",
    "qsc_doc_num_words",
    "qsc_doc_num_chars",
    "qsc_doc_num_lines",
    "qsc_doc_mean_word_length",
    "qsc_doc_frac_words_full_bracket",
    "qsc_doc_frac_lines_end_with_readmore",
    "qsc_doc_frac_lines_start_with_bullet",
    "qsc_doc_frac_words_unique",
    "qsc_doc_entropy_unigram",
    "qsc_doc_frac_words_all_caps",
    "qsc_doc_frac_lines_dupe_lines",
    "qsc_doc_frac_chars_dupe_lines",
    "qsc_doc_frac_chars_top_2grams",
    "qsc_doc_frac_chars_top_3grams",
    "qsc_doc_frac_chars_top_4grams",
    "qsc_doc_frac_chars_dupe_5grams",
    "qsc_doc_frac_chars_dupe_6grams",
    "qsc_doc_frac_chars_dupe_7grams",
    "qsc_doc_frac_chars_dupe_8grams",
    "qsc_doc_frac_chars_dupe_9grams",
    "qsc_doc_frac_chars_dupe_10grams",
    "qsc_doc_frac_chars_replacement_symbols",
    "qsc_doc_cate_code_related_file_name",
    "qsc_doc_num_chars_sentence_length_mean",
    "qsc_doc_frac_chars_hyperlink_html_tag",
    "qsc_doc_frac_chars_alphabet",
    "qsc_doc_frac_chars_digital",
    "qsc_doc_frac_chars_whitespace",
    "qsc_doc_frac_chars_hex_words",
)

_SENTENCE = re.compile(r"\b[^.!?。！？؟]+[.!?。！？؟]*")
_SENTENCE_SPLIT = re.compile(r"\.|\?|\!|\n")
_LINK = re.compile(r"\(https?://\S+\)")
_HTML_TAG = re.compile(r"<.*?>")
_HEX_WORD = re.compile(r"\b0[xX][0-9a-fA-F]+\b")
_FULL_BRACKETS = ("【", "】")
_READMORE = (
    "...",
    "…",
    "全文",
    "详情",
    "详细",
    "更多",
    "المزيد",
    "تفاصيل",
    "اقرأ المزيد",
    "もっと",
    "詳細",
    "もっと読む",
)
_BULLETS = tuple(
    chr(c)
    for c in (
        0x2022, 0x2023, 0x2043, 0x204C, 0x204D, 0x2219, *range(0x25A0, 0x25B0), 0x25CB, 0x25CF, 0x25E6,
        0x25C6, 0x25C7, 0x25C8, 0x25C9, 0x25CA, 0x25D0, 0x25D1, 0x25D2, 0x25D3, 0x25D4, 0x25D5, 0x25D6,
        0x25D8, 0x25D9, 0x25E2, 0x25E3, 0x25E4, 0x25E5, 0x25EF, 0x2611, 0x2612, 0x2B1B, 0x2B1C, 0x2B24,
        0x2B1E, 0x2B1F, 0x29BE,
    )
)  # fmt: skip
_CODE_RELATED_NAMES = ("readme", "notes", "todo", "description", "cmakelists")


@lru_cache(maxsize=1)
def _stop_words_en() -> frozenset[str]:
    text = resources.files("opc_data.signals").joinpath("stop_words_en.txt").read_text(encoding="utf-8")
    return frozenset(text.split())


def _r(x: float) -> float:
    return round(x, PRECISION)


def compute(doc: Document) -> dict[str, Any]:
    """All natural-language signals of one text document."""
    out: dict[str, Any] = {}
    content = doc.content
    n_chars = doc.length
    raw_words = doc.words
    n_raw = len(raw_words)
    nwords = doc.normalized_words
    nlens = doc.normalized_word_lengths
    n_nwords = len(nwords)
    lines = doc.lines
    n_lines = len(lines)

    if n_chars == 0 or ("{" not in content and "}" not in content):
        out["qsc_doc_frac_chars_curly_bracket"] = 0.0
    else:
        out["qsc_doc_frac_chars_curly_bracket"] = _r(float(content.count("{") + content.count("}")) / n_chars)
    if doc.lang != "en":
        out["qsc_doc_frac_words_redpajama_stop"] = None
    elif n_nwords == 0:
        out["qsc_doc_frac_words_redpajama_stop"] = 0.0
    else:
        stop = _stop_words_en()
        out["qsc_doc_frac_words_redpajama_stop"] = (
            _r(float(sum(1 for w in raw_words if w in stop)) / n_raw) if n_raw else None
        )
    out["qsc_doc_num_sentences"] = float(len(_SENTENCE.findall(content)))
    out["qsc_doc_num_words"] = n_nwords
    out["qsc_doc_num_chars"] = float(n_chars)
    out["qsc_doc_num_lines"] = float(n_lines)
    out["qsc_doc_mean_word_length"] = _r(float(sum(nlens)) / n_nwords) if n_nwords else None
    out["qsc_doc_frac_words_full_bracket"] = (
        _r(sum(1 for w in raw_words if w in _FULL_BRACKETS) / n_raw) if n_raw else None
    )
    if n_lines:
        readmore = sum(1 for ln in lines if ln.rstrip().rstrip("]】)>》").endswith(_READMORE))
        bullets = sum(1 for ln in lines if ln.lstrip().startswith(_BULLETS))
        out["qsc_doc_frac_lines_end_with_readmore"] = _r(float(readmore) / n_lines)
        out["qsc_doc_frac_lines_start_with_bullet"] = _r(float(bullets) / n_lines)
    else:
        out["qsc_doc_frac_lines_end_with_readmore"] = None
        out["qsc_doc_frac_lines_start_with_bullet"] = None
    out["qsc_doc_frac_words_unique"] = _r(float(len(set(nwords))) / n_nwords) if n_nwords else None
    if n_nwords:
        counter = Counter(nwords)
        total = sum(counter.values())
        ent = sum(-x / total * math.log(x / total) for x in counter.values())
        out["qsc_doc_entropy_unigram"] = _r(ent)
    else:
        out["qsc_doc_entropy_unigram"] = None
    out["qsc_doc_frac_words_all_caps"] = (
        _r(float(sum(map(str.isupper, raw_words))) / n_raw) if n_raw else None
    )

    if n_lines:
        stripped = [ln.strip() for ln in lines]
        nonempty = Counter(s for s in stripped if s)
        total_l = sum(nonempty.values())
        dup_l = sum(v for v in nonempty.values() if v != 1)
        out["qsc_doc_frac_lines_dupe_lines"] = _r(dup_l / total_l) if total_l else None
        allc = Counter(stripped)
        total_c = sum(len(k) * v for k, v in allc.items())
        dup_c = sum(len(k) * v for k, v in allc.items() if v != 1)
        out["qsc_doc_frac_chars_dupe_lines"] = _r(dup_c / total_c) if total_c else None
    else:
        out["qsc_doc_frac_lines_dupe_lines"] = None
        out["qsc_doc_frac_chars_dupe_lines"] = None

    top, dupe = ngram_repetition(nwords, nlens)
    for n in (2, 3, 4):
        out[f"qsc_doc_frac_chars_top_{n}grams"] = _r(top[n])
    for n in range(5, 11):
        out[f"qsc_doc_frac_chars_dupe_{n}grams"] = _r(dupe[n])

    out["qsc_doc_frac_chars_replacement_symbols"] = _r(content.count("\ufffd") / n_chars) if n_chars else None
    stem = doc.filename.split(".")[0].lower()
    out["qsc_doc_cate_code_related_file_name"] = float(
        "requirement" in stem or stem in _CODE_RELATED_NAMES or stem == "read.me"
    )
    sentences = _SENTENCE_SPLIT.split(content)
    out["qsc_doc_num_chars_sentence_length_mean"] = _r(sum(map(len, sentences)) / len(sentences))
    if n_chars:
        tagged = sum(map(len, _LINK.findall(content))) + sum(map(len, _HTML_TAG.findall(content)))
        out["qsc_doc_frac_chars_hyperlink_html_tag"] = _r(tagged / n_chars)
    else:
        out["qsc_doc_frac_chars_hyperlink_html_tag"] = None
    vis = len(doc.visible_content)
    if vis == 0:
        out["qsc_doc_frac_chars_alphabet"] = 0.0
    elif doc.lang != "en":
        out["qsc_doc_frac_chars_alphabet"] = None
    else:
        out["qsc_doc_frac_chars_alphabet"] = _r(doc.visible_alpha / vis)
    out["qsc_doc_frac_chars_digital"] = _r(doc.visible_digits / vis) if vis else 1.0
    out["qsc_doc_frac_chars_whitespace"] = _r((n_chars - vis) / n_chars) if n_chars else 1.0
    out["qsc_doc_frac_chars_hex_words"] = (
        _r(sum(map(len, _HEX_WORD.findall(content))) / n_chars) if n_chars else None
    )
    return out
