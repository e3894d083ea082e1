"""Natural-language detection (optional; off by default = the reference run, where every file is "en").

    Document.content ──▶ detect_language(text) ──▶ "en" | "zh" | "ja" | "ko" ──▶ Document.lang

Upstream predicts the language with a fastText model (``lang_predictor.bin``) that is only distributed
through a Google Drive link; it is not available offline. The language matters to the reference in
four places only: the tokenizer for zh/ja, the stop-word signal, ``qsc_doc_frac_chars_alphabet`` (null
unless "en") and the ``text-zh`` table for Chinese text documents. All four depend on whether a text
is CJK, not on which Latin-script language it is, so we detect by script: among the letters of the
text, the share of Han, Kana and Hangul characters; a text whose letters are mostly CJK (>= 30 %) is
ja if it has Kana, ko if Hangul dominates, else zh; everything else is "en".

What it does NOT do: tell Latin-script languages apart (fr, de, es ... are reported as "en"; only the
non-thresholded stop-word signal would differ), or segment CJK words (see DIVERGENCES.md).
"""

from __future__ import annotations

import re

__all__ = ["detect_language", "CJK_SHARE"]

CJK_SHARE = 0.30
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9d]")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")


def detect_language(text: str, sample_chars: int = 100_000) -> str:
    """ "en", "zh", "ja" or "ko" for a text, from the script of its letters (first ``sample_chars``)."""
    if text.isascii():
        return "en"
    sample = text[:sample_chars]
    letters = sum(map(str.isalpha, sample))
    if not letters:
        return "en"
    han = len(_HAN.findall(sample))
    kana = len(_KANA.findall(sample))
    hangul = len(_HANGUL.findall(sample))
    if (han + kana + hangul) / letters < CJK_SHARE:
        return "en"
    if kana and kana >= 0.05 * (han + kana):
        return "ja"
    if hangul > han:
        return "ko"
    return "zh"
