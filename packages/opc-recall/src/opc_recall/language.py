"""A cheap natural-language guess for recalled pages (the ``program_lang`` column of ``kept/``).

Stop-word counts for a handful of languages, and the script for text that has no spaces (Chinese,
Japanese) or another alphabet (Cyrillic, Arabic, ...). Good enough to let ``tokenize`` filter or
report web text by language; not a language identifier (use fastText lid.176 for that, which we do not
download).
"""

from __future__ import annotations

import re
from collections import Counter

_WORD = re.compile(r"[^\W\d_]+")
_STOP = {
    "en": "the and of to in is that for it with as on are this be by from or",
    "de": "der die und das ist nicht mit den ein zu sich auf für von dem",
    "fr": "le la les et des est un une pour dans que qui sur pas du",
    "es": "el la los las y de que en es por un una con para del",
    "it": "il di che la per non una sono con del della gli nel",
    "pt": "o a os as de que em um uma para com não do da",
    "nl": "de het een en van is dat op te niet met voor zijn",
    "ru": "и в не на что с по это как из к для",
}
_STOPS = {lang: set(words.split()) for lang, words in _STOP.items()}


def guess_language(text: str, sample_chars: int = 4000) -> str:
    """ISO 639-1 code for a few languages, ``zh``/``ja``/``ko`` by script, else ``other`` (``""`` for no text)."""
    sample = text[:sample_chars]
    if not sample.strip():
        return ""
    cjk = sum(1 for ch in sample if "\u4e00" <= ch <= "\u9fff")
    kana = sum(1 for ch in sample if "\u3040" <= ch <= "\u30ff")
    hangul = sum(1 for ch in sample if "\uac00" <= ch <= "\ud7af")
    letters = max(1, sum(ch.isalpha() for ch in sample))
    if kana / letters > 0.05:
        return "ja"
    if hangul / letters > 0.2:
        return "ko"
    if cjk / letters > 0.2:
        return "zh"
    words = [w.lower() for w in _WORD.findall(sample)]
    if not words:
        return "other"
    counts = Counter(words)
    best, hits = max(((lang, sum(counts[w] for w in s)) for lang, s in _STOPS.items()), key=lambda t: (t[1], t[0]))
    return best if hits >= max(3, len(words) // 50) else "other"
