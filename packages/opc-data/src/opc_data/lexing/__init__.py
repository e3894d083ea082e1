"""Fast comment/string scanners: the code/comment split of a source file, without Pygments.

    Document.content ──▶ split_code_comment(text, program_lang) ──▶ (code_content, comment_content)
                                                                     │
                    general code signals (comment fraction, ...) ◀───┴──▶ language signals (lines, regexes)

The OpenCoder reference lexes every file with Pygments (``get_lexer_by_name(program_lang)``) and calls a
token "comment" when its type is exactly Comment.Single, Comment.Multiline, Comment.Hashbang,
Comment.Special or String.Doc; everything else is "code". ``code_raw_content`` is the concatenation of
the code tokens, ``comment_raw_content`` that of the comment tokens. Pygments is a general highlighter
(regex state machines, one Python generator step per token) and costs more than all the other signals
together. This package replaces it, for the languages that carry language-specific rules (python, c,
cpp, csharp, java, go, javascript, html) and for frequent others (typescript, rust, sql, json), with
one linear scanner per language that reproduces the *Pygments 2.18 classification* (the version the
reference run used; not the language's real grammar): each scanner jumps between the few characters that can open a comment or a string with one
compiled regex search (one shared loop, ``opc_data.lexing.events``, with a hook per event kind; JavaScript, Ruby and HTML keep their own loops, see there), and knows the quirks of the Pygments lexer it stands for (for example: the C
lexer's ``//`` comment swallows its newline and a ``#include`` line's trailing text is a comment; the
Python lexer calls any triple-quoted string that starts a line a docstring; in the Java lexer an
unterminated ``/*`` is not a comment). Where a quirk could not be reproduced the scanner is documented
as diverging in DIVERGENCES.md.

Input preprocessing is Pygments' own: a leading BOM is dropped, "\\r\\n" and "\\r" become "\\n", leading and
trailing newlines are stripped and a final "\\n" is ensured. The returned strings refer to that text.

Public API
    split_code_comment(text, program_lang) -> (code, comment) | None   (None: no scanner, use Pygments)
    comment_spans(text, program_lang) -> list[(start, end)] | None     (spans in ``preprocess(text)``)
    preprocess(text) -> str
    SCANNED_LANGUAGES: frozenset of program_lang values with a scanner

What it does NOT do: parse (no AST, no validity check), lex languages without a scanner (the caller
falls back to Pygments, see ``opc_data.document``; Ruby and YAML are the costly ones left), or strip comments for any other purpose than the
reference's signals (it is not a minifier: Pygments quirks are kept on purpose).
"""

from __future__ import annotations

from collections.abc import Callable

from opc_data.lexing.clike import c_spans, cpp_spans, csharp_spans, go_spans, java_spans
from opc_data.lexing.javascript import javascript_spans, typescript_spans
from opc_data.lexing.json_data import json_spans
from opc_data.lexing.markup import html_spans
from opc_data.lexing.python import python_spans
from opc_data.lexing.ruby import ruby_spans, ruby_split
from opc_data.lexing.rust import rust_spans
from opc_data.lexing.sql import sql_spans

__all__ = ["split_code_comment", "comment_spans", "preprocess", "SCANNED_LANGUAGES", "join_spans"]

Spans = list[tuple[int, int]]

def _no_comment_tokens(text: str) -> Spans:  # noqa: ARG001
    """Pygments' CssLexer gives CSS comments the plain Comment type, which the reference counts as code:
    a CSS file has no comment text at all for the reference."""
    return []


_SCANNERS: dict[str, Callable[[str], Spans | None]] = {
    "python": python_spans,
    "c": c_spans,
    "cpp": cpp_spans,
    "csharp": csharp_spans,
    "java": java_spans,
    "go": go_spans,
    "javascript": javascript_spans,
    "html": html_spans,
    # languages without language-specific rules, scanned for the general code signals
    "typescript": typescript_spans,
    "rust": rust_spans,
    "sql": sql_spans,
    "json": json_spans,
    "ruby": ruby_spans,
    "css": _no_comment_tokens,
}

SCANNED_LANGUAGES = frozenset(_SCANNERS)


def preprocess(text: str) -> str:
    """Pygments' input normalisation (``Lexer._preprocess_lexer_input`` with default options)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.strip("\n")
    if not text.endswith("\n"):
        text += "\n"
    return text


def comment_spans(text: str, program_lang: str) -> Spans | None:
    """Comment spans (sorted, disjoint, half-open) in ``preprocess(text)``; None without a scanner (and
    for the rare Ruby inputs spans cannot describe, see ``opc_data.lexing.ruby``)."""
    scanner = _SCANNERS.get(program_lang)
    if scanner is None:
        return None
    return scanner(preprocess(text))


def join_spans(text: str, spans: Spans) -> tuple[str, str]:
    """(text outside the spans, text inside the spans), each concatenated in order."""
    if not spans:
        return text, ""
    code: list[str] = []
    comment: list[str] = []
    pos = 0
    for s, e in spans:
        code.append(text[pos:s])
        comment.append(text[s:e])
        pos = e
    code.append(text[pos:])
    return "".join(code), "".join(comment)


def split_code_comment(text: str, program_lang: str) -> tuple[str, str] | None:
    """(code_raw_content, comment_raw_content) as the reference computes them with Pygments, or None
    when ``program_lang`` has no scanner here (the caller then falls back to Pygments)."""
    scanner = _SCANNERS.get(program_lang)
    if scanner is None:
        return None
    pre = preprocess(text)
    if program_lang == "ruby":  # Pygments can repeat text after an unterminated heredoc
        return ruby_split(pre)
    return join_spans(pre, scanner(pre))
