"""Natural-language detection (optional; off by default = the reference run, where every file is "en").

    Document.content ──▶ detect_language(text) ──▶ "en" | "zh" | "ja" | "ko" ──▶ Document.lang

Upstream predicts the language with a fastText model (``lang_predictor.bin``) that is only distributed
through a Google Drive link; it is not available offline. The language matters to the reference in
four places only: the tokenizer for zh/ja, the stop-word signal, ``qsc_doc_frac_chars_alphabet`` (null
unless "en") and the ``text-zh`` table for Chinese text documents. All four depend on whether a text
is CJK, not on which Latin-script language it is, so we detect by script. A CJK character carries
about as much text as a Latin word (Chinese words are 1-2 characters), so a text is CJK when it has at
least as many Han/Kana/Hangul characters as Latin words (runs of other letters): then ja if it has
Kana, ko if Hangul dominates, else zh; everything else is "en". Code with a few CJK strings in it
(locale tables) stays "en" unless its CJK text outweighs its identifiers.

What it does NOT do: tell Latin-script languages apart (fr, de, es ... are reported as "en"; only the
non-thresholded stop-word signal would differ), or segment CJK words (see DIVERGENCES.md).
"""

from __future__ import annotations

import re

__all__ = ["detect_language", "CJK_SHARE"]

CJK_SHARE = 1.0  # CJK characters per Latin word at which a text counts as CJK
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9d]")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")
_CJK_OR_NOT_LETTER = "\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uff9d"
_LATIN_WORD = re.compile(rf"[^\W\d_{_CJK_OR_NOT_LETTER}]+")


def detect_language(text: str, sample_chars: int = 100_000) -> str:
    """ "en", "zh", "ja" or "ko" for a text, from the script of its letters (first ``sample_chars``)."""
    if text.isascii():
        return "en"
    sample = text[:sample_chars]
    han = len(_HAN.findall(sample))
    kana = len(_KANA.findall(sample))
    hangul = len(_HANGUL.findall(sample))
    cjk = han + kana + hangul
    if cjk == 0 or cjk < CJK_SHARE * len(_LATIN_WORD.findall(sample)):
        return "en"
    if kana and kana >= 0.05 * (han + kana):
        return "ja"
    if hangul > han:
        return "ko"
    return "zh"
