"""``Document``: one file prepared once for every quality signal.

    raw record ──▶ langid (program_lang, doc_type) ──▶ Document ──▶ signals/* (columns) ──▶ rules.decide

The OpenCoder reference builds a ``QSCodeDocument`` per file and every signal re-derives lines, words,
n-grams and a code/comment split from it. ``Document`` holds the same views, computed lazily and at most
once, so each signal is a cheap pass over a cached view. The views reproduce the reference semantics
exactly (they are what makes our signal values equal to the reference's):

Attributes (plain, given at construction)
    content        str   the file text as given (the reference's ``raw_content``)
    filename       str   base name with extension ("setup.py", "CMakeLists.txt")
    ext            str   the part after the last "." of ``filename`` ("" if none)
    program_lang   str   language from ``opc_data.langid.identify`` ("python", "c", "ruby", "unknown", ...)
    doc_type       str   "code" | "data" | "text" | "unknown" | "excluded"
    lang           str   natural language of the text ("en" unless detection is switched on)
    size_bytes     int   size of the raw file in bytes (``qsc_code_size_file_byte``)
    blob_id        str | None  only used for the deterministic "random" rules

Cached views (``functools.cached_property``; computed on first access, then shared)
    length              len(content)
    lines               tuple[str]: lines *with* their trailing "\\n" (the last one may lack it), i.e.
                        the reference's ``raw_lines`` (regex ``[^\\n]*\\n|[^\\n]+$``); "" -> ()
    line_lengths        tuple[int] of len(line) for ``lines``
    words               tuple[str]: nltk ``wordpunct_tokenize`` (``\\w+|[^\\w\\s]+``) of the content
                        (the reference's ``raw_words``)
    normalized_text     content normalised as the reference's ``normalize_text`` (control chars removed,
                        full-width punctuation to half-width, ASCII punctuation -> " ", lower case,
                        NFKC); whitespace is not collapsed (irrelevant to the words)
    normalized_words    tuple[str]: wordpunct of ``normalized_text`` (the reference's ``normalized_words``)
    normalized_word_lengths  tuple[int]
    visible_content     content with every whitespace character removed
    visible_alpha       number of ``str.isalpha`` characters in ``visible_content``
    visible_digits      number of ``str.isdigit`` characters in ``visible_content``
    code_content        the reference's ``code_raw_content``: the text with comment tokens removed
    comment_content     the reference's ``comment_raw_content``: the comment tokens concatenated
    code_lines          tuple[str]: non-blank lines of ``code_content`` (with "\\n"; ``code_normalized_lines``)
    comment_lines       tuple[str]: non-blank lines of ``comment_content``
    cache               dict for language modules to share their own parses (AST, token lists, ...)

Code/comment split. The reference lexes with Pygments (``get_lexer_by_name(program_lang)``; comment =
tokens of type Comment.Multiline / Comment.Single / Comment.Hashbang / Comment.Special / String.Doc), a
line-based hand splitter for Perl and for languages Pygments does not know. We ask the fast scanners of
``opc_data.lexing`` first, through this contract (owned by the lexing module):

    opc_data.lexing.split_code_comment(content: str, program_lang: str) -> tuple[str, str] | None
        (code_content, comment_content) with the reference's semantics, including Pygments' input
        preprocessing (leading BOM dropped, "\\r\\n"/"\\r" -> "\\n", leading/trailing "\\n" stripped, a final
        "\\n" ensured); None when it has no scanner for ``program_lang``.

and fall back to Pygments itself (imported lazily, slow) or to the hand splitter, as the reference does.

What this module does NOT do: compute signals (``opc_data.signals``), decide keep/drop
(``opc_data.rules``), detect languages (``opc_data.langid``). It does not convert Chinese text
(the reference runs zhconv + jieba for ``lang == "zh"``; we tokenise every language with wordpunct,
see DIVERGENCES.md).
"""

from __future__ import annotations

import re
import string
import unicodedata
from functools import cached_property
from typing import Any

__all__ = ["Document", "WORDPUNCT_RE", "split_lines", "normalize_for_words"]

# nltk.wordpunct_tokenize is exactly this regex (nltk.tokenize.regexp.WordPunctTokenizer).
WORDPUNCT_RE = re.compile(r"\w+|[^\w\s]+")
_WS_RE = re.compile(r"\s+")

# --- the reference's normalize_text, as one translation table --------------------------------------------
# Control characters removed / replaced (the reference's CONTROL_CHARS_INFO).
_CONTROL = {chr(c): "" for c in (*range(0x00, 0x08), 0x0E, 0x0F, *range(0x10, 0x1B), *range(0x1C, 0x20))}
_CONTROL.update({"\u2009": " ", "\u200b": " ", "\u202c": ""})
# Full-width punctuation -> half-width (the reference's FULL_PUNCT_TO_HALF).
_FULL_TO_HALF = {
    "。": ".", "、": ",", "=": "=", "《": '"', "》": '"', "【": "[", "】": "]",
    "「": "'", "」": "'", "“": '"', "”": '"', "￥": "¥", "‘": "'", "’": "'",
}  # fmt: skip
_FULL_TO_HALF.update({chr(ord(h) + 0xFEE0): h for h in string.punctuation})
_PUNCT = set(string.punctuation)


def _build_normalize_table() -> dict[int, str]:
    table: dict[int, str] = {}
    chars = set(_CONTROL) | set(_FULL_TO_HALF) | _PUNCT
    for c in chars:
        out = _CONTROL.get(c, c)
        out = "".join(_FULL_TO_HALF.get(x, x) for x in out)
        out = "".join(" " if x in _PUNCT else x for x in out)
        if out != c:
            table[ord(c)] = out
    return table


_NORMALIZE_TABLE = _build_normalize_table()


def normalize_for_words(text: str) -> str:
    """The reference's ``normalize_text`` (remove_control, halfpunct, punct='replace', lowercase, NFKC),
    minus whitespace collapsing, which cannot change the wordpunct tokens. Applying it to the whole
    text instead of line by line gives the same tokens: every step is per character except NFKC, and
    NFKC never composes across a newline."""
    text = text.translate(_NORMALIZE_TABLE).lower()
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return text


def split_lines(text: str) -> tuple[str, ...]:
    """Lines with their trailing newline, as the reference's ``split_paragraphs`` (no empty-line removal)."""
    if not text:
        return ()
    parts = text.split("\n")
    last = parts.pop()
    lines = [p + "\n" for p in parts]
    if last:
        lines.append(last)
    return tuple(lines)


_ASCII_LETTERS = string.ascii_letters.encode()
_ASCII_DIGITS = string.digits.encode()


class Document:
    """One file, with lazily cached views shared by all quality signals (see the module docstring)."""

    def __init__(
        self,
        content: str,
        *,
        filename: str = "",
        ext: str | None = None,
        program_lang: str = "unknown",
        doc_type: str = "unknown",
        lang: str = "en",
        size_bytes: int | None = None,
        blob_id: str | None = None,
    ) -> None:
        self.content = content
        self.filename = filename
        self.ext = ext if ext is not None else (filename.rsplit(".", 1)[1] if "." in filename else "")
        self.program_lang = program_lang
        self.doc_type = doc_type
        self.lang = lang
        self.size_bytes = size_bytes if size_bytes is not None else len(content.encode("utf-8", "replace"))
        self.blob_id = blob_id
        self.cache: dict[str, Any] = {}

    @classmethod
    def from_record(cls, record: dict[str, Any], *, lang: str = "en") -> Document:
        """Build from a raw record that already carries ``program_lang`` and ``doc_type``."""
        path = record.get("path") or ""
        filename = path.rsplit("/", 1)[-1]
        return cls(
            record.get("content") or "",
            filename=filename,
            program_lang=record.get("program_lang") or "unknown",
            doc_type=record.get("doc_type") or "unknown",
            lang=lang,
            size_bytes=record.get("size"),
            blob_id=record.get("blob_id"),
        )

    def __len__(self) -> int:
        return len(self.content)

    def __repr__(self) -> str:
        return f"Document({self.filename!r}, {self.program_lang}/{self.doc_type}, {self.length} chars)"

    # --- plain text views ----------------------------------------------------------------------------
    @cached_property
    def length(self) -> int:
        return len(self.content)

    @cached_property
    def lines(self) -> tuple[str, ...]:
        return split_lines(self.content)

    @cached_property
    def line_lengths(self) -> tuple[int, ...]:
        return tuple(map(len, self.lines))

    @cached_property
    def words(self) -> tuple[str, ...]:
        return tuple(WORDPUNCT_RE.findall(self.content))

    @cached_property
    def normalized_text(self) -> str:
        return normalize_for_words(self.content)

    @cached_property
    def normalized_words(self) -> tuple[str, ...]:
        text = self.normalized_text
        # Normalised ASCII content holds only letters, digits and whitespace (all ASCII punctuation
        # became spaces; NFKC, which could bring punctuation back from e.g. "…", is skipped for ASCII)
        # unless it has ESC or DEL, so wordpunct == whitespace split.
        if self.content.isascii() and "\x1b" not in text and "\x7f" not in text:
            return tuple(text.split())
        return tuple(WORDPUNCT_RE.findall(text))

    @cached_property
    def normalized_word_lengths(self) -> tuple[int, ...]:
        return tuple(map(len, self.normalized_words))

    @cached_property
    def visible_content(self) -> str:
        return "".join(self.content.split())

    @cached_property
    def visible_alpha(self) -> int:
        v = self.visible_content
        if v.isascii():
            b = v.encode("ascii")
            return len(b) - len(b.translate(None, _ASCII_LETTERS))
        return sum(map(str.isalpha, v))

    @cached_property
    def visible_digits(self) -> int:
        v = self.visible_content
        if v.isascii():
            b = v.encode("ascii")
            return len(b) - len(b.translate(None, _ASCII_DIGITS))
        return sum(map(str.isdigit, v))

    # --- code / comment split ------------------------------------------------------------------------
    @cached_property
    def _code_comment(self) -> tuple[str, str]:
        return split_code_comment(self.content, self.program_lang, self.lines)

    @property
    def code_content(self) -> str:
        return self._code_comment[0]

    @property
    def comment_content(self) -> str:
        return self._code_comment[1]

    @cached_property
    def code_lines(self) -> tuple[str, ...]:
        return tuple(line for line in split_lines(self.code_content) if line.strip())

    @cached_property
    def comment_lines(self) -> tuple[str, ...]:
        return tuple(line for line in split_lines(self.comment_content) if line.strip())


# --- code / comment split (reference semantics) ----------------------------------------------------------
_PYGMENTS_COMMENT_TYPES: frozenset[Any] | None = None
_LEXERS: dict[str, Any] = {}  # program_lang -> Pygments lexer (None: Pygments has none of that name)


def split_code_comment(
    content: str, program_lang: str, lines: tuple[str, ...] | None = None
) -> tuple[str, str]:
    """(code, comment) as the reference's ``QSCodeDocument.code_raw_content`` / ``comment_raw_content``.

    Order: Perl hand splitter (as the reference), then ``opc_data.lexing.split_code_comment`` (fast
    scanners), then Pygments, then the generic hand splitter when Pygments has no lexer of that name.
    """
    if lines is None:
        lines = split_lines(content)
    if program_lang == "perl":
        return _perl_split(lines)
    from opc_data.lexing import split_code_comment  # noqa: PLC0415  (a broken scanner must fail loudly)

    got = split_code_comment(content, program_lang)
    if got is not None:
        return got
    return _pygments_split(content, program_lang, lines)


def _pygments_split(content: str, program_lang: str, lines: tuple[str, ...]) -> tuple[str, str]:
    """The installed Pygments' split (the fallback: about a fifth of the filter CPU on a YAML/shell-heavy mix).

    Tried and measured (not kept): a copy of Pygments' RegexLexer loop that finds each state's first
    matching rule with one alternation of all its rules gave identical tokens on the 1,048 fallback
    files of dev + the varied mix of ``benchmarks/data_throughput.py`` but took 1.67 s CPU against
    1.51 s for ``pygments.lex`` (``re`` tries the alternatives one by one as well). Faster means
    per-language scanners in ``opc_data.lexing`` (YAML, shell, PHP, Tcl, CMake are the costly ones).
    """
    global _PYGMENTS_COMMENT_TYPES
    import pygments  # noqa: PLC0415  (slow import; fallback path only)
    import pygments.token as T  # noqa: N812, PLC0415
    import pygments.util  # noqa: PLC0415
    from pygments.lexers import get_lexer_by_name  # noqa: PLC0415

    if _PYGMENTS_COMMENT_TYPES is None:
        _PYGMENTS_COMMENT_TYPES = frozenset(
            {
                T.Comment.Multiline,
                T.Comment.Single,
                T.Literal.String.Doc,
                T.Comment.Hashbang,
                T.Comment.Special,
            }
        )
    lexer = _LEXERS.get(program_lang, False)
    if lexer is False:  # look-ups scan plugin entry points: do each name once per process
        try:
            lexer = get_lexer_by_name(program_lang)
        except pygments.util.ClassNotFound:
            lexer = None
        _LEXERS[program_lang] = lexer
    if lexer is None:
        return _hand_split(lines)
    code: list[str] = []
    comment: list[str] = []
    kinds = _PYGMENTS_COMMENT_TYPES
    for ttype, tok in pygments.lex(content, lexer):
        (comment if ttype in kinds else code).append(tok)
    return "".join(code), "".join(comment)


def _hand_split(lines: tuple[str, ...]) -> tuple[str, str]:
    """The reference's ``get_comment_by_hand`` (line based; quirks kept: a line *ending* in a block
    delimiter toggles the block state, and a '#', '//' or '--' line starts a block that lasts until the
    next toggle)."""
    code: list[str] = []
    comment: list[str] = []
    in_block = False
    flag = False
    for line in lines:
        s = line.strip()
        if s.startswith(('"""', "/*")) or s.endswith(('"""', "*/")):
            in_block = not in_block
            flag = in_block
            comment.append(line)
            continue
        if s.startswith(("#", "//", "--")) or in_block:
            in_block = True
            comment.append(line)
            continue
        if s == "\n" and flag:  # never true after strip(); kept for fidelity
            comment.append(line)
            continue
        flag = False
        code.append(line)
    return "".join(code), "".join(comment)


def _perl_split(lines: tuple[str, ...]) -> tuple[str, str]:
    """The reference's ``get_perl_comment`` (POD blocks and '#' lines)."""
    code: list[str] = []
    comment: list[str] = []
    in_block = False
    flag = False
    for line in lines:
        s = line.strip()
        if s.startswith("=cut"):
            in_block = False
            flag = False
            comment.append(line)
            continue
        if s.startswith("="):
            in_block = True
            flag = True
            comment.append(line)
            continue
        if s.startswith("#") or in_block:
            comment.append(line)
            continue
        if s == "\n" and flag:
            comment.append(line)
            continue
        flag = False
        code.append(line)
    return "".join(code), "".join(comment)
