"""Offline instruction data built from the kept code itself (the tiny recipe has no teacher model).

    data/kept/ Python files ─▶ ast: top-level functions and methods with a docstring
        ├─ "implement":  user = the signature + docstring as a task   ─▶ assistant = the whole function
        └─ "explain":    user = the function without its docstring    ─▶ assistant = the docstring

Deterministic: files in stored order, functions in source order, one template per kind (the kind of a
function is chosen by a hash of its path and name, so the two tasks never share a function), capped by
``max_per_repo`` so no repository dominates. Only functions of ``min_lines..max_lines`` lines with a
docstring of at least ``min_doc_chars`` characters qualify. These are weak labels (a docstring is not a
user request), good enough to teach a tiny model the chat format and answer-then-stop; a real run plugs
its own instruction data in (the sft stage's ``conversations`` and ``synth_sets``). This module does
not decontaminate (the sft stage does, for every source) and does not tokenize.
"""

from __future__ import annotations

import ast
import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

IMPLEMENT = "Write a Python function `{signature}` that does the following:\n\n{doc}"
EXPLAIN = "Explain what this Python function does.\n\n```python\n{code}\n```"


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    return f"{node.name}({ast.unparse(node.args)})"


def _functions(source: str) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node
        elif isinstance(node, ast.ClassDef):
            yield from (n for n in node.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef))


def _without_docstring(lines: list[str], node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    doc = node.body[0]
    first, last = node.lineno - 1 - len(node.decorator_list), node.end_lineno or node.lineno
    kept = lines[first:doc.lineno - 1] + lines[(doc.end_lineno or doc.lineno):last]
    return _dedent("\n".join(kept))


def _dedent(code: str) -> str:
    import textwrap

    return textwrap.dedent(code).strip("\n")


def conversations_from_file(repo: str, path: str, content: str, min_lines: int = 3, max_lines: int = 40,
                            min_doc_chars: int = 20) -> Iterator[dict[str, Any]]:
    """Rows ``{"messages", "task", "repo_name", "path", "function"}`` for the qualifying functions of one file."""
    lines = content.splitlines()
    for node in _functions(content):
        doc = ast.get_docstring(node)
        if not doc or len(doc) < min_doc_chars or len(node.body) < 2:
            continue
        first = node.lineno - 1 - len(node.decorator_list)
        n_lines = (node.end_lineno or node.lineno) - first
        if not min_lines <= n_lines <= max_lines:
            continue
        code = _dedent("\n".join(lines[first:node.end_lineno]))
        kind = "implement" if hashlib.sha256(f"{path}:{node.name}".encode()).digest()[0] % 2 == 0 else "explain"
        if kind == "implement":
            user, answer = IMPLEMENT.format(signature=_signature(node), doc=doc), f"```python\n{code}\n```"
        else:
            user, answer = EXPLAIN.format(code=_without_docstring(lines, node)), doc
        yield {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": answer}],
               "task": kind, "repo_name": repo, "path": path, "function": node.name}


def conversations_from_code(rows: Iterable[dict[str, Any]], max_per_repo: int = 200, max_total: int | None = None,
                            tasks: Iterable[str] = ("implement", "explain")) -> Iterator[dict[str, Any]]:
    """Conversations from data-stage rows (``repo_name``, ``path``, ``content``, ``program_lang``) of the
    given task kinds (a function's kind is fixed by its hash, so filtering never re-labels one)."""
    wanted = set(tasks)
    per_repo: Counter[str] = Counter()
    total = 0
    for row in rows:
        if (row.get("program_lang") or "").lower() != "python" or not row.get("content"):
            continue
        for conv in conversations_from_file(row["repo_name"], row["path"], row["content"]):
            if conv["task"] not in wanted:
                continue
            if per_repo[row["repo_name"]] >= max_per_repo:
                break
            per_repo[row["repo_name"]] += 1
            total += 1
            yield conv
            if max_total is not None and total >= max_total:
                return
