"""General code quality signals (``qsc_code_*``): computed for every ``code`` and ``data`` document.

    Document ──▶ compute(doc) ──▶ {33 qsc_code_* signals} ──▶ rules (code-<lang>, code-data, code-others)

Each definition is the OpenCoder reference's (``quality_signals/code.py`` and the shared RedPajama text
signals), re-implemented over ``Document``'s cached views: same names, same None cases, values rounded
to 8 digits as the reference. Reference quirks are kept (they decide what the paper's pipeline kept):
``qsc_code_cate_autogen`` fires on the word "generate" anywhere in the first 200 characters; string
signals use the reference's quote regexes over the comment-free code, not a real string lexer.

Lexer-dependent signals: ``qsc_code_frac_chars_comments`` and every signal over ``doc.code_content`` /
``doc.comment_content`` depend on the code/comment split (Pygments in the reference, our scanners in
``opc_data.lexing``). For Python, ``qsc_code_frac_chars_comments`` is the reference's stdlib route
(``tokenize`` comments + ``ast`` docstrings), reproduced exactly.

What it does NOT do: language-specific signals (``lang_*.py``) or thresholds (``opc_data.rules``).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
import warnings
from collections import Counter
from typing import Any

from opc_data.document import WORDPUNCT_RE, Document
from opc_data.signals.repetition import ngram_repetition

__all__ = ["compute", "SIGNALS", "python_comment_text", "python_ast"]

PRECISION = 8

SIGNALS: tuple[str, ...] = (
    "qsc_code_num_words",
    "qsc_code_num_chars",
    "qsc_code_mean_word_length",
    "qsc_code_frac_words_unique",
    "qsc_code_frac_chars_top_2grams",
    "qsc_code_frac_chars_top_3grams",
    "qsc_code_frac_chars_top_4grams",
    "qsc_code_frac_chars_dupe_5grams",
    "qsc_code_frac_chars_dupe_6grams",
    "qsc_code_frac_chars_dupe_7grams",
    "qsc_code_frac_chars_dupe_8grams",
    "qsc_code_frac_chars_dupe_9grams",
    "qsc_code_frac_chars_dupe_10grams",
    "qsc_code_frac_chars_replacement_symbols",
    "qsc_code_frac_chars_digital",
    "qsc_code_frac_chars_whitespace",
    "qsc_code_size_file_byte",
    "qsc_code_num_lines",
    "qsc_code_num_chars_line_max",
    "qsc_code_num_chars_line_mean",
    "qsc_code_frac_chars_alphabet",
    "qsc_code_frac_chars_comments",
    "qsc_code_cate_xml_start",
    "qsc_code_frac_lines_dupe_lines",
    "qsc_code_cate_autogen",
    "qsc_code_frac_lines_long_string",
    "qsc_code_frac_chars_string_length",
    "qsc_code_frac_chars_long_word_length",
    "qsc_code_frac_lines_string_concat",
    "qsc_code_cate_encoded_data",
    "qsc_code_frac_chars_hex_words",
    "qsc_code_frac_lines_prompt_comments",
    "qsc_code_frac_lines_assert",
)

# Quote regexes of the reference: priority ''' > """ > ' > " (non-greedy).
_STRINGS_MULTILINE = re.compile(r"'''(.*?)'''|\"\"\"(.*?)\"\"\"|'(.*?)'|\"(.*?)\"", re.DOTALL)
_STRINGS_ONE_LINE = re.compile(r"'''(.*?)'''|\"\"\"(.*?)\"\"\"|'([^\n]*?)'|\"([^\n]*?)\"", re.DOTALL)
_URL_IN_WORD = re.compile(r"https?://\S")
# Reference: r'\s*=\s*["\'].+?["\']\s*\+\s*["\'].+?["\'].*' searched per line (it gave up after 1 s).
# Whether it matches is decided in linear time: an "=" + spaces + quote at index a, a quote-spaces-"+"-
# spaces-quote junction whose first quote is at index >= a + 2, and another quote at least two characters
# after the junction's second quote (``.`` matches anything but the line's final newline).
_EQ_QUOTE = re.compile(r"=\s*[\"']")
_JUNCTION = re.compile(r"(?=[\"']\s*\+\s*([\"']))")


def _has_string_concat(line: str) -> bool:
    m = _EQ_QUOTE.search(line)
    if m is None:
        return False
    j = _JUNCTION.search(line, m.end() + 1)  # first junction with its first quote >= a + 2
    if j is None:
        return False
    last_quote = max(line.rfind('"'), line.rfind("'"))
    return last_quote >= j.start(1) + 2


_HEX_WORD = re.compile(r"\b0[xX][0-9a-fA-F]+\b")
# The reference's three patterns; the look-around prefixes only skip start positions where no match can
# begin (inside a run / not at a hex digit or backslash), so findall returns exactly the same matches.
_BASE64 = re.compile(r"(?<![a-zA-Z0-9+/\n=])[a-zA-Z0-9+/\n=]{64,}")
_HEX_RUN = re.compile(r"(?=[0-9a-fA-F\\])(?:\b(?:0x|\\x)?[0-9a-fA-F]{2}(?:,|\b\s*)){8,}")
_UNICODE_ESCAPES = re.compile(r"(?:\\u[0-9a-fA-F]{4}){8,}")
# The reference strips whitespace with the ``regex`` module, whose \s excludes U+001C..U+001F.
_REGEX_MODULE_WS = re.compile(r"[^\S\x1c-\x1f]+")
_PROMPT_COMMENTS = ("your code here", "fixme", "todo")


def _r(x: float) -> float:
    return round(x, PRECISION)


def compute(doc: Document) -> dict[str, Any]:
    """All 33 general code signals of one document."""
    out: dict[str, Any] = {}
    content = doc.content
    n_chars = doc.length
    nwords = doc.normalized_words
    nlens = doc.normalized_word_lengths
    n_nwords = len(nwords)

    # --- text-derived (RedPajama) --------------------------------------------------------------------
    out["qsc_code_num_words"] = n_nwords
    out["qsc_code_num_chars"] = float(n_chars)
    out["qsc_code_mean_word_length"] = _r(float(sum(nlens)) / n_nwords) if n_nwords else None
    out["qsc_code_frac_words_unique"] = _r(float(len(set(nwords))) / n_nwords) if n_nwords else None
    top, dupe = ngram_repetition(nwords, nlens)
    for n in (2, 3, 4):
        out[f"qsc_code_frac_chars_top_{n}grams"] = _r(top[n])
    for n in range(5, 11):
        out[f"qsc_code_frac_chars_dupe_{n}grams"] = _r(dupe[n])
    out["qsc_code_frac_chars_replacement_symbols"] = (
        _r(content.count("\ufffd") / n_chars) if n_chars else None
    )
    vis = len(doc.visible_content)
    out["qsc_code_frac_chars_digital"] = _r(doc.visible_digits / vis) if vis else 1.0
    out["qsc_code_frac_chars_whitespace"] = _r((n_chars - vis) / n_chars) if n_chars else 1.0

    # --- file / line shape ---------------------------------------------------------------------------
    out["qsc_code_size_file_byte"] = float(doc.size_bytes) if doc.size_bytes is not None else None
    lines = doc.lines
    n_lines = len(lines)
    out["qsc_code_num_lines"] = float(n_lines)
    if n_lines:
        ll = doc.line_lengths
        out["qsc_code_num_chars_line_max"] = float(max(ll))
        out["qsc_code_num_chars_line_mean"] = _r(sum(ll) / n_lines)
    else:
        out["qsc_code_num_chars_line_max"] = 0.0
        out["qsc_code_num_chars_line_mean"] = 0
    out["qsc_code_frac_chars_alphabet"] = _r(doc.visible_alpha / vis) if vis else 0.0

    # --- comments ------------------------------------------------------------------------------------
    if n_chars == 0:
        out["qsc_code_frac_chars_comments"] = None
    elif doc.program_lang == "python":
        out["qsc_code_frac_chars_comments"] = _r(len(python_comment_text(content, python_ast(doc))) / n_chars)
    else:
        out["qsc_code_frac_chars_comments"] = _r(len(doc.comment_content) / n_chars)

    out["qsc_code_cate_xml_start"] = float("<?xml version=" in content[:100])

    code_lines = doc.code_lines
    n_code_lines = len(code_lines)
    if n_lines == 0:
        out["qsc_code_frac_lines_dupe_lines"] = None
    else:
        if any(c in content for c in "\x1c\x1d\x1e\x1f"):
            squeezed = [_REGEX_MODULE_WS.sub("", ln) for ln in code_lines]
        else:
            squeezed = ["".join(ln.split()) for ln in code_lines]
        counts = Counter(squeezed)
        dup = sum(v for k, v in counts.items() if v != 1 and k != "}," and len(k) != 1)
        out["qsc_code_frac_lines_dupe_lines"] = _r(dup / n_code_lines) if n_code_lines else None

    head = content[:200].lower()
    out["qsc_code_cate_autogen"] = float("generate" in head or "autogen" in head or "do not edit" in head)

    # --- strings over the comment-free code ----------------------------------------------------------
    code = doc.code_content
    n_code = len(code)
    if n_code_lines == 0:
        out["qsc_code_frac_lines_long_string"] = None
    else:
        count = 0
        if "'" in code or '"' in code:
            for m in _STRINGS_MULTILINE.finditer(code):
                for group in m.groups():
                    if group:
                        for sub in group.split("\n"):
                            # > 20 tokens needs > 20 characters: skip the tokenizer for short pieces
                            if len(sub) > 20 and len(WORDPUNCT_RE.findall(sub)) > 20:
                                count += 1
        out["qsc_code_frac_lines_long_string"] = _r(count / n_code_lines)
    if n_code == 0:
        out["qsc_code_frac_chars_string_length"] = None
        out["qsc_code_frac_chars_long_word_length"] = None
    else:
        str_chars = 0
        long_chars = 0
        if "'" in code or '"' in code:
            for m in _STRINGS_ONE_LINE.finditer(code):
                for group in m.groups():
                    if group:
                        str_chars += len(group)
                        for w in group.split():
                            if len(w) > 20 and _URL_IN_WORD.search(w) is None:
                                long_chars += len(w)
        out["qsc_code_frac_chars_string_length"] = _r(str_chars / n_code)
        out["qsc_code_frac_chars_long_word_length"] = _r(long_chars / n_code)
    if n_code_lines == 0:
        out["qsc_code_frac_lines_string_concat"] = None
    else:
        cc = sum(1 for ln in code_lines if "+" in ln and "=" in ln and _has_string_concat(ln))
        out["qsc_code_frac_lines_string_concat"] = _r(cc / n_code_lines)

    out["qsc_code_cate_encoded_data"] = _encoded_data(content)
    out["qsc_code_frac_chars_hex_words"] = (
        _r(sum(len(m) for m in _HEX_WORD.findall(code)) / n_code) if n_code else None
    )
    if n_lines == 0:
        out["qsc_code_frac_lines_prompt_comments"] = None
    else:
        pc = 0
        for ln in doc.comment_lines:
            low = ln.lower()
            if any(p in low for p in _PROMPT_COMMENTS):
                pc += 1
        out["qsc_code_frac_lines_prompt_comments"] = _r(pc / n_lines)
    if n_code_lines == 0:
        out["qsc_code_frac_lines_assert"] = None
    else:
        out["qsc_code_frac_lines_assert"] = _r(
            sum(1 for ln in code_lines if "assert" in ln.lower()) / n_code_lines
        )
    return out


def _encoded_data(content: str) -> float:
    """1.0 if a base64 / hex / \\u-escape run is longer than 1024 chars or such runs cover > 50 %."""
    if not content:
        return 0.0
    score = 0.0
    matched = 0
    patterns = [_BASE64, _HEX_RUN]
    if "\\u" in content:
        patterns.append(_UNICODE_ESCAPES)
    for pat in patterns:
        for m in pat.findall(content):
            if len(m) > 1024:
                score = 1.0
            matched += len(m)
    if matched / len(content) > 0.5:
        score = 1.0
    return score


# --- Python comments + docstrings (the reference's get_text_python) -----------------------------------
# AsyncFunctionDef is not looked at, as upstream; docstrings are ordered as upstream sorts them.
_DOC_NODES = {ast.ClassDef: "Class", ast.FunctionDef: "Function/Method", ast.Module: "Module"}
_STMT_CONTAINERS = (ast.stmt, ast.excepthandler, ast.match_case)


def python_ast(doc: Document) -> ast.Module | None:
    """``ast.parse`` of the content, shared with ``lang_python`` through ``doc.cache["python_ast"]``."""
    if "python_ast" not in doc.cache:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree: ast.Module | None = ast.parse(doc.content)
        except Exception:  # noqa: BLE001  (SyntaxError, ValueError, RecursionError, MemoryError ...)
            tree = None
        doc.cache["python_ast"] = tree
    return doc.cache["python_ast"]


def _statement_nodes_bfs(tree: ast.AST) -> list[ast.AST]:
    """The nodes ``ast.walk`` would visit that can hold statements, in ``ast.walk``'s order.

    Statements only live in list fields of statements / except handlers / match cases, never inside
    expressions, so a breadth-first walk over those list fields (in ``_fields`` order) yields the same
    relative order as ``ast.walk`` over the whole tree at a fraction of the cost."""
    out = [tree]
    i = 0
    while i < len(out):
        node = out[i]
        i += 1
        for field in node._fields:
            value = getattr(node, field, None)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, _STMT_CONTAINERS):
                        out.append(item)
    return out


# For source that ``ast.parse`` accepted, COMMENT tokens are exactly the ``#...`` runs outside string
# literals, found with the string patterns of ``tokenize`` itself (3.11: f-strings are plain strings).
_PY_START = re.compile(r"""#[^\r\n]*|'''|\"\"\"|'|\"""")
_PY_END = {
    "'''": re.compile(r"[^'\\]*(?:(?:\\.|'(?!''))[^'\\]*)*'''", re.DOTALL),
    '"""': re.compile(r'[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*"""', re.DOTALL),
    "'": re.compile(r"[^'\\\n]*(?:\\.[^'\\\n]*)*'", re.DOTALL),
    '"': re.compile(r'[^"\\\n]*(?:\\.[^"\\\n]*)*"', re.DOTALL),
}


def _comments_of_valid_python(source: str) -> str:
    """The concatenated ``#`` comments of source that parses (what ``tokenize`` yields as COMMENT)."""
    parts: list[str] = []
    pos = 0
    search = _PY_START.search
    while True:
        m = search(source, pos)
        if m is None:
            break
        tok = m.group()
        if tok[0] == "#":
            parts.append(tok)
            pos = m.end()
            continue
        end = _PY_END[tok].match(source, m.end())
        if end is None:  # cannot happen for parsed source; stay exact by deferring to tokenize
            return _tokenize_comments(source)
        pos = end.end()
    return "".join(parts)


def _tokenize_comments(source: str) -> str:
    try:
        return "".join(
            tok.string
            for tok in tokenize.generate_tokens(io.StringIO(source).readline)
            if tok.type == tokenize.COMMENT
        )
    except Exception:  # noqa: BLE001
        return ""


def python_comment_text(source: str, tree: ast.Module | None | bool = False) -> str:
    """Docstrings (module, class, def; cleaned by ``inspect.cleandoc``) joined by newlines, a newline, then
    every ``#`` comment with the '#' characters removed, stripped. A file that does not parse yields no
    docstrings; a file that does not tokenize yields no comments (exactly the reference's behaviour).
    ``tree``: an already parsed module (None = does not parse); parsed here when not given."""
    if tree is False:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(source)
        except Exception:  # noqa: BLE001  (the reference swallows every parse failure)
            tree = None
    docstrings = ""
    if tree is not None:
        try:
            found = []
            for node in _statement_nodes_bfs(tree):
                kind = _DOC_NODES.get(type(node))
                if kind is not None:
                    found.append((kind, getattr(node, "name", None), ast.get_docstring(node)))
            found.sort(key=lambda t: (t[0], t[1]))
            docstrings = "\n".join(d for _, _, d in found if d)
        except Exception:  # noqa: BLE001
            docstrings = ""
    comments = ""
    if "#" in source:  # no '#', no COMMENT token
        raw = _comments_of_valid_python(source) if tree is not None else _tokenize_comments(source)
        comments = raw.replace("#", "")
    return (docstrings + "\n" + comments).strip()
