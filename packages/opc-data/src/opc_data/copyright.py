"""Copyright / licence notice removal from a file's *leading* comment blocks.

Where it sits: a transform of the ``data`` stage, after dedup and before sampling and
decontamination (``stage.py``). It rewrites ``content`` of records that survive dedup.

    #!/usr/bin/env python             <- kept (shebang, encoding cookie, ``<?php``)
    # Copyright 2024 Jane Doe          \\
    # Licensed under the MIT licence.   >  a paragraph naming a copyright/licence: removed
    #                                  /
    # Helpers for parsing URLs.        <- a paragraph without one: kept
    import re                          <- code: never touched, even if it mentions a licence

A comment region is the run of comment blocks (line comments or one ``/* ... */`` / ``<!-- -->``
block at a time) before the first line of code. Each block is split into paragraphs at empty comment
lines; a paragraph whose text matches a copyright/licence marker (``copyright``, ``(c)``, ``©``,
``SPDX-License-Identifier``, ``licensed under``, ``all rights reserved``, ``permission is hereby
granted``, ...) is removed, and a block left without text disappears with its delimiters.

What it does NOT do: touch comments after the first line of code, string literals, or docstrings
(a Python module docstring is code); guess comment syntax for a language it does not know (such a
file is returned unchanged — see ``COMMENT_STYLES``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A notice is named by one of these: a word like "license" or "warranty" alone is not one
# ("# Detect the license of a distribution", "// Warranty claim REST controller." are descriptions).
NOTICE = re.compile(
    r"copyright|\(c\)\s*\d|\(c\)(?=.*\b(?:licen[sc]e|inc|ltd|llc|gmbh|foundation|contributors|authors|corp))|©|spdx-license-identifier|licen[sc]ed\s+(under|to|by)\b|all\s+rights\s+reserved"
    r"|permission\s+is\s+hereby\s+granted|redistribution\s+and\s+use|redistributions?\s+of\s+source"
    r"|free\s+software|(?:re)?distribute\s+it|without\s+(any\s+)?warranty|distributed\s+in\s+the\s+hope"
    r"|you\s+should\s+have\s+received\s+a\s+copy|under\s+the\s+terms\s+of|unless\s+required\s+by\s+applicable"
    r"|provided\s+(by\s+.{0,60}\s+)?[\"“]?as\s+is|(?:gnu|apache|mit|bsd|mozilla|eclipse|isc|artistic)(?:[\s\-]\w+){0,3}"
    r"\s+licen[sc]e|(?:a?gpl|lgpl|mpl|bsd)[\s\-]*(?:v?\d|licen[sc]e|style)|licen[sc]e\s*(?:[:=]|v\d|version\s+\d)"
    r"|@licen[sc]e|@copyright|use\s+of\s+this\s+source\s+code|governed\s+by\s+a|www\.gnu\.org/licenses"
    r"|apache\.org/licenses|opensource\.org/licenses|creativecommons\.org|public\s+domain"
    r"|in\s+compliance\s+with\s+the\s+licen[sc]e|express\s+or\s+implied|merchantability",
    re.IGNORECASE,
)
# defined terms of licence texts, case-sensitive: "under the License", "copies of the Software", "LICENSE file"
NOTICE_TERMS = re.compile(r"\b(?:under|of|with|in|to|use|by)\s+the\s+(?:License|Software|Licensor)\b"
                          r"|\(the\s+[\"“](?:License|Software)|\bLICEN[SC]E(?:\.\w+)?\s+file\b|\bCOPYING\b")
# a line that is a whole notice on its own: the lines around it in its paragraph may be a description
_NOTICE_HEAD = re.compile(r"^(?:copyright\b|\(c\)|©|spdx-license-identifier|@copyright|@licen[sc]e"
                          r"|all\s+rights\s+reserved)", re.IGNORECASE)
_WEAK = re.compile(r"licen[sc]|warrant|copyright|gpl|bsd\b|apache|mit\b|redistribut|permission", re.IGNORECASE)
# comment lines that tools read: never removed, whatever block they sit in
_PROTECTED = re.compile(
    r"^\s*(?:#!|#.*coding[:=]\s*[-\w.]+|//\s*go:build|//\s*\+build|//\s*go:generate|#\s*(?:type|pylint|mypy|cython"
    r"|noqa|fmt|flake8|ruff)\s*:|.*code generated .* do not edit|//\s*@ts-|/\*\s*eslint|//\s*eslint|//\s*swift-tools-version|/\*\*?\s*@jsx)",
    re.IGNORECASE,
)


def is_notice(text: str) -> bool:
    """True when ``text`` (a comment paragraph or line) names a copyright or licence."""
    return bool(NOTICE.search(text) or NOTICE_TERMS.search(text))


# comment styles per language: line-comment prefixes and (open, close) block delimiters
_C = (("//",), (("/*", "*/"),))
_HASH = (("#",), ())
_COMMENT_STYLES: dict[str, tuple[tuple[str, ...], tuple[tuple[str, str], ...]]] = {}
for _lang in ("c", "cpp", "c++", "csharp", "c#", "java", "javascript", "typescript", "go", "rust", "swift",
              "kotlin", "scala", "dart", "objective-c", "objective-c++", "groovy", "cuda", "protocol buffer",
              "less", "scss", "jsx", "tsx", "d", "zig", "vala", "solidity", "verilog", "systemverilog",
              "glsl", "hlsl", "actionscript", "apex", "ceylon", "haxe", "v", "thrift"):
    _COMMENT_STYLES[_lang] = _C
_COMMENT_STYLES["php"] = (("//", "#"), (("/*", "*/"),))
_COMMENT_STYLES["css"] = ((), (("/*", "*/"),))
for _lang in ("python", "shell", "bash", "ruby", "perl", "r", "yaml", "toml", "makefile", "cmake",
              "dockerfile", "powershell", "tcl", "nim", "julia", "crystal", "elixir", "coffeescript",
              "gdscript", "nix", "starlark", "awk", "raku", "ini", "cython", "gentoo ebuild", "meson"):
    _COMMENT_STYLES[_lang] = _HASH
_COMMENT_STYLES["powershell"] = (("#",), (("<#", "#>"),))
for _lang in ("sql", "lua", "haskell", "ada", "vhdl", "elm", "plsql", "tsql", "plpgsql"):
    _COMMENT_STYLES[_lang] = (("--",), (("{-", "-}"),) if _lang in ("haskell", "elm") else ())
_COMMENT_STYLES["lua"] = (("--",), (("--[[", "]]"),))
for _lang in ("html", "xml", "markdown", "vue", "svelte", "xslt", "html+erb", "html+django", "maven pom"):
    _COMMENT_STYLES[_lang] = ((), (("<!--", "-->"),))
for _lang in ("lisp", "common lisp", "scheme", "clojure", "emacs lisp", "racket", "assembly",
              "gas", "nasm", "motorola 68k assembly"):
    _COMMENT_STYLES[_lang] = ((";",), ())
for _lang in ("tex", "latex", "erlang", "matlab", "prolog"):
    _COMMENT_STYLES[_lang] = (("%",), ())
_COMMENT_STYLES["fortran"] = (("!",), ())
_COMMENT_STYLES["vim script"] = (('"',), ())
_COMMENT_STYLES["batchfile"] = (("rem ", "REM ", "::", "@rem ", "@REM "), ())
COMMENT_STYLES = _COMMENT_STYLES

_PRELUDE = re.compile(r"^(#!|<\?php|<\?xml|<!doctype|\ufeff$|#\s*-\*-|#.*coding[:=]|//go:build|// \+build|@echo off)",
                      re.IGNORECASE)


@dataclass
class _Block:
    start: int  # first line index (inclusive)
    end: int  # last line index (inclusive)
    delims: tuple[str, str] | None  # block comment delimiters, None for line comments
    prefix: str | None  # line comment prefix


def _strip_comment_text(line: str, block: _Block) -> str:
    """The words of one comment line, without comment punctuation (to find empty comment lines)."""
    text = line.strip()
    if block.delims:
        text = text.replace(block.delims[0], "").replace(block.delims[1], "")
        text = text.lstrip("*").strip()
    elif block.prefix:
        text = text[len(block.prefix):] if text.startswith(block.prefix) else text
        text = text.strip().strip(block.prefix[:1]).strip()
    return text


def _scan_blocks(lines: list[str], first: int, styles) -> list[_Block]:
    """The leading comment blocks from line ``first``, stopping at the first code line."""
    line_prefixes, block_delims = styles
    blocks: list[_Block] = []
    i = first
    n = len(lines)
    while i < n:
        s = lines[i].strip()
        if not s:
            i += 1
            continue
        opened = next((d for d in block_delims if s.startswith(d[0])), None)
        if opened is not None:
            j = i
            rest = s[len(opened[0]):]
            while opened[1] not in rest:
                j += 1
                if j >= n:
                    return blocks  # unterminated block comment: leave the file alone from here
                rest = lines[j]
            # text after the closing delimiter on the same line is code: stop before this block
            after = rest.split(opened[1], 1)[1].strip()
            if after:
                return blocks
            blocks.append(_Block(i, j, opened, None))
            i = j + 1
            continue
        prefix = next((p for p in sorted(line_prefixes, key=len, reverse=True) if s.startswith(p)), None)
        if prefix is not None and not (prefix == "#" and s.startswith("#!")):
            j = i
            while j + 1 < n and lines[j + 1].strip().startswith(prefix):
                j += 1
            blocks.append(_Block(i, j, None, prefix))
            i = j + 1
            continue
        break
    return blocks


def _paragraphs(lines: list[str], block: _Block) -> list[tuple[int, int]]:
    """(start, end) line ranges of the block's text paragraphs (separated by empty comment lines)."""
    out: list[tuple[int, int]] = []
    start = None
    for k in range(block.start, block.end + 1):
        if _strip_comment_text(lines[k], block):
            if start is None:
                start = k
        elif start is not None:
            out.append((start, k - 1))
            start = None
    if start is not None:
        out.append((start, block.end))
    return out


def remove_copyright(content: str, program_lang: str | None) -> tuple[str, int]:
    """Remove copyright/licence paragraphs from the leading comments; returns (content, lines removed).

    Files in a language without known comment syntax come back unchanged with 0.
    """
    styles = COMMENT_STYLES.get((program_lang or "").lower())
    if styles is None or not content:
        return content, 0
    lines = content.splitlines(keepends=True)
    first = 0
    while first < len(lines) and first < 3 and _PRELUDE.match(lines[first].strip()):
        first += 1
    blocks = _scan_blocks(lines, first, styles)
    drop: set[int] = set()
    replace: dict[int, str] = {}
    for block in blocks:
        paras = _paragraphs(lines, block)
        cuts = [c for c in (_notice_lines(lines, block, a, b) for a, b in paras) if c is not None]
        if not cuts:
            continue
        protected = any(_PROTECTED.match(lines[k]) for k in range(block.start, block.end + 1))
        if not protected and len(cuts) == len(paras) and all(c == p for c, p in zip(cuts, paras, strict=True)):
            # nothing but notices: the whole block goes, delimiters included, and the blank lines after
            # it when it starts the file or follows a blank line (a blank line after a Go build tag or a
            # cookie line stays where it was)
            drop.update(range(block.start, block.end + 1))
            if block.start == 0 or not lines[block.start - 1].strip():
                k = block.end + 1
                while k < len(lines) and not lines[k].strip():
                    drop.add(k)
                    k += 1
            continue
        for a, b in cuts:
            # the empty comment lines that separated the notice from the next paragraph go with it
            while b + 1 < block.end and not _strip_comment_text(lines[b + 1], block):
                b += 1
            if block.delims is None and b + 1 == block.end and not _strip_comment_text(lines[b + 1], block):
                b += 1
            for k in range(a, b + 1):
                if _PROTECTED.match(lines[k]):
                    continue
                if block.delims and k == block.start:
                    replace[k] = _indent(lines[k]) + block.delims[0] + _eol(lines[k])
                elif block.delims and k == block.end:
                    replace[k] = _indent(lines[k]) + block.delims[1] + _eol(lines[k])
                else:
                    drop.add(k)
    if not drop and not replace:
        return content, 0
    out: list[str] = []
    removed = 0
    for k, line in enumerate(lines):
        if k in drop:
            removed += 1 if line.strip() else 0
            continue
        if k in replace:
            removed += 1
            out.append(replace[k])
            continue
        out.append(line)
    return "".join(out), removed


def _notice_lines(lines: list[str], block: _Block, a: int, b: int) -> tuple[int, int] | None:
    """The lines of paragraph ``a..b`` that are the notice, or None when it holds none.

    A description line in the same paragraph as a one-line notice stays: in
    ``backup-rotate - rotate tarball backups`` / ``Copyright (C) 2019 Jane Doe`` only the second goes.
    """
    texts = [_strip_comment_text(lines[k], block) for k in range(a, b + 1)]
    if not is_notice(" ".join(texts)):
        return None
    marks = [i for i, t in enumerate(texts) if is_notice(t)]
    if not marks:
        return a, b  # the phrase runs across lines: the paragraph is the notice
    first, last = marks[0], marks[-1]
    if first > 0 and not _NOTICE_HEAD.match(texts[first]):
        first = 0  # the notice sentence started before its marker line
    if last < len(texts) - 1:
        rest = texts[last + 1:]
        if not _NOTICE_HEAD.match(texts[last]) or any(_WEAK.search(t) for t in rest) or rest[0][:1].islower():
            last = len(texts) - 1
    return a + first, a + last


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _eol(line: str) -> str:
    return line[len(line.rstrip("\r\n")):]
