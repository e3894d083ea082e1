"""Bytes -> text for raw files: binary detection, encoding detection and the quarantine reasons.

    raw bytes ──▶ decode_bytes(data, policy) ──▶ Decoded(content, src_encoding, is_binary, quarantine_reason)

Where it sits: inside every ingest reader, before a record is built. Rules, in order:

  1. binary = git's rule (a NUL byte in the first 8,000 bytes): quarantined ``binary``; ``content`` is the
     Latin-1 decoding of the bytes (lossless, as in Stack-style dumps), so exact dedup still sees them;
  2. valid UTF-8 -> decoded as is (``src_encoding="UTF-8"``; a BOM is kept as U+FEFF, like git keeps it);
  3. otherwise, with ``detect`` on: cp1252 when the bytes read as Western text (the most common case,
     where charset-normalizer alone often picks a wrong code page), else charset-normalizer's best guess
     (``src_encoding`` = its name, e.g. ``cp1251``, ``cp932``); when none fits the file is quarantined ``undecodable``
     (``content`` = Latin-1 decoding, lossless) — or, with ``on_undecodable="latin-1"``, kept as the
     Latin-1 decoding with ``src_encoding="ISO-8859-1"`` (the Stack convention).

Stack-style records already carry text; those marked ``src_encoding`` ISO-8859-1 hold the Latin-1 decoding of
the original bytes: ``recover_bytes`` gets the bytes back so they can be decoded properly (``redecode_record``).

Quarantine reasons are strings ``"<code>: <detail>"``; ``reason_code`` gives the code for counting:
``binary``, ``undecodable``, ``oversize``, ``malformed_record``, ``unsafe_path``, ``link``, ``archive_limit``,
``zip_bomb``, ``unreadable``.

What it does NOT do: language detection (``langid.py``), size limits (the readers apply ``max_file_bytes``
before reading content), or any repair of mojibake inside valid UTF-8.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from opc_data.records import BINARY_SNIFF_BYTES, looks_binary

BINARY = "binary"
UNDECODABLE = "undecodable"
OVERSIZE = "oversize"
MALFORMED_RECORD = "malformed_record"
UNSAFE_PATH = "unsafe_path"
LINK = "link"
ARCHIVE_LIMIT = "archive_limit"
ZIP_BOMB = "zip_bomb"
UNREADABLE = "unreadable"

QUARANTINE_CODES: tuple[str, ...] = (
    BINARY,
    UNDECODABLE,
    OVERSIZE,
    MALFORMED_RECORD,
    UNSAFE_PATH,
    LINK,
    ARCHIVE_LIMIT,
    ZIP_BOMB,
    UNREADABLE,
)

LATIN1_NAMES = frozenset({"iso-8859-1", "iso8859-1", "latin-1", "latin1", "latin_1", "l1"})


class EncodingConfig(BaseModel):
    """How non-UTF-8 files are handled (recipe: ``stages.data.ingest.encoding``)."""

    model_config = ConfigDict(extra="forbid")
    detect: bool = True
    """Decode non-UTF-8 bytes by charset-normalizer's best guess (else: straight to ``on_undecodable``)."""
    redecode_latin1: bool = True
    """Stack-style records with ``src_encoding`` ISO-8859-1: recover the bytes and decode them properly."""
    on_undecodable: Literal["quarantine", "latin-1"] = "quarantine"
    """No encoding found: quarantine (default) or keep the Latin-1 decoding like The Stack does."""


@dataclass(frozen=True)
class Decoded:
    content: str
    src_encoding: str
    is_binary: bool
    quarantine_reason: str | None = None


def reason(code: str, detail: str) -> str:
    return f"{code}: {detail}"


def reason_code(quarantine_reason: str | None) -> str | None:
    """``"binary: NUL byte ..."`` -> ``"binary"`` (for counting in the funnel)."""
    if quarantine_reason is None:
        return None
    return quarantine_reason.split(":", 1)[0].strip()


_WESTERN_PUNCT = frozenset("\u00a0–—‘’‚“”„€…•«»°©®±·¡¿§¶µ²³¹½¼¾£¥¢™†‡‰‹›ˆ˜¦¨¯´¸ª º¬×÷")


def _western(data: bytes) -> str | None:
    """Windows-1252 text, if the bytes read as Western European prose or code.

    charset-normalizer guesses poorly on short Western text (it may pick a Baltic or Central-European code
    page and turn "à" into "ą"), yet cp1252/Latin-1 is by far the most common non-UTF-8 encoding in source
    files. Accept cp1252 when every non-ASCII character is a Latin letter or common punctuation and
    non-ASCII letters are a minority of all letters (Cyrillic in cp1251 also decodes to Latin-1 letters,
    but then nearly every letter is non-ASCII).
    """
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    letters = non_ascii_letters = 0
    for ch in text:
        if ch.isascii():
            letters += ch.isalpha()
            continue
        if ch.isalpha() and "\u00c0" <= ch <= "\u017f" or ch in "ŠšŽžŒœŸƒ":
            letters += 1
            non_ascii_letters += 1
        elif ch not in _WESTERN_PUNCT:
            return None
    if letters == 0 or non_ascii_letters > 0.3 * letters:
        return None
    return text


def _detect(data: bytes) -> tuple[str, str] | None:
    """(text, encoding name): cp1252 when the text is plainly Western, else charset-normalizer's guess,
    or None when nothing plausible is found."""
    from charset_normalizer import from_bytes

    western = _western(data)
    if western is not None:
        return western, "cp1252"

    best = from_bytes(data).best()
    if best is None or best.encoding is None:
        return None
    try:
        return str(best), best.encoding
    except (UnicodeDecodeError, LookupError):
        return None


def decode_bytes(data: bytes, policy: EncodingConfig | None = None) -> Decoded:
    """Raw file bytes -> text, or a quarantine reason; never loses bytes (see module docstring)."""
    policy = policy or EncodingConfig()
    if looks_binary(data):
        return Decoded(
            data.decode("latin-1"),
            "ISO-8859-1",
            True,
            reason(BINARY, f"NUL byte in the first {BINARY_SNIFF_BYTES} bytes"),
        )
    try:
        return Decoded(data.decode("utf-8"), "UTF-8", False)
    except UnicodeDecodeError as exc:
        utf8_error = f"not UTF-8 (byte {exc.start}: {exc.reason})"
    if policy.detect:
        found = _detect(data)
        if found is not None:
            text, name = found
            return Decoded(text, name, False)
    if policy.on_undecodable == "latin-1":
        return Decoded(data.decode("latin-1"), "ISO-8859-1", False)
    detail = f"{utf8_error}; no encoding detected" if policy.detect else f"{utf8_error}; detection off"
    return Decoded(data.decode("latin-1"), "ISO-8859-1", False, reason(UNDECODABLE, detail))


def is_latin1_name(name: str | None) -> bool:
    return bool(name) and name.strip().lower() in LATIN1_NAMES  # type: ignore[union-attr]


def recover_bytes(content: str, src_encoding: str | None) -> bytes:
    """The raw bytes behind a Stack-style ``content`` (Latin-1 fallback or UTF-8)."""
    if is_latin1_name(src_encoding):
        try:
            return content.encode("latin-1")
        except UnicodeEncodeError:
            pass  # not a Latin-1 decoding after all: the text is what we have
    return content.encode("utf-8", errors="surrogatepass")


def redecode_record(record: dict[str, Any], policy: EncodingConfig | None = None) -> dict[str, Any]:
    """Fix up a Stack-style record in place: binary -> quarantine; Latin-1 fallback -> proper decoding.

    Records that are UTF-8 already are left alone (cheap path: no byte conversion).
    """
    policy = policy or EncodingConfig()
    if record.get("quarantine_reason"):
        return record
    if record.get("is_binary"):
        record["quarantine_reason"] = reason(BINARY, f"marked is_binary (NUL byte in the first {BINARY_SNIFF_BYTES} bytes)")
        return record
    if not is_latin1_name(record.get("src_encoding")):
        return record
    if not policy.redecode_latin1:
        return record
    try:
        data = record["content"].encode("latin-1")
    except UnicodeEncodeError:
        return record  # labelled Latin-1 but holds other characters: keep the text as given
    decoded = decode_bytes(data, policy)
    record["content"] = decoded.content
    record["src_encoding"] = decoded.src_encoding
    record["is_binary"] = decoded.is_binary
    record["quarantine_reason"] = decoded.quarantine_reason
    return record
