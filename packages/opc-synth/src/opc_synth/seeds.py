"""Seeds for the generators: what each prompt is grounded in, drawn deterministically.

- ``code_seeds``: top-level Python functions (``ast``, with their source) of the data stage's kept files
  in ``seed_languages``; a file without a suitable function gives its head instead. Ordered by a hash of
  (recipe seed, repo, path, name), so the selection is seeded and independent of shard order.
- ``file_seeds``: the head of kept code files of any language (diverse instruct).
- ``doc_seeds``: public functions and classes with a docstring in the ``.py`` files of installed
  distributions, read as text with ``ast`` (never imported).

Every seed keeps ``repo_name`` and ``path`` of where it came from: the provenance of the samples.
What it does NOT do: judge seed quality beyond length bounds (the data stage's filters did).
"""

from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from opc_core import storage
from opc_core.errors import OpcError


@dataclass(frozen=True)
class Seed:
    repo_name: str
    path: str
    program_lang: str
    name: str  # function / class name ("" for a file head)
    text: str  # the snippet (or docstring for doc seeds)
    signature: str = ""


def _order(seed: int, *parts: str) -> int:
    return int.from_bytes(hashlib.sha256("\x1f".join([str(seed), *parts]).encode()).digest()[:8], "big")


def _functions(source: str, max_chars: int) -> list[tuple[str, str]]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    out = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not node.name.startswith("_"):
            text = ast.get_source_segment(source, node) or ""
            if 80 <= len(text) <= max_chars:
                out.append((node.name, text))
    return out


def _kept_rows(data_uri: str):
    from opc_core.dataset import read_batches

    for batch in read_batches(storage.join(data_uri, "kept"),
                              columns=["repo_name", "path", "content", "program_lang", "doc_type"]):
        yield from batch.to_pylist()


def code_seeds(data_uri: str, languages: list[str], max_chars: int, seed: int) -> list[Seed]:
    langs = {x.lower() for x in languages}
    seeds = []
    for row in _kept_rows(data_uri):
        lang = (row.get("program_lang") or "").lower()
        if lang not in langs or row.get("doc_type") != "code" or not row.get("content"):
            continue
        funcs = _functions(row["content"], max_chars) if lang == "python" else []
        if funcs:
            seeds += [Seed(row["repo_name"], row["path"], lang, n, t) for n, t in funcs]
        elif len(row["content"]) >= 80:
            seeds.append(Seed(row["repo_name"], row["path"], lang, "", row["content"][:max_chars]))
    return sorted(seeds, key=lambda s: (_order(seed, "code", s.repo_name, s.path, s.name), s.repo_name, s.path, s.name))


def file_seeds(data_uri: str, max_chars: int, seed: int) -> list[Seed]:
    seeds = [Seed(r["repo_name"], r["path"], (r.get("program_lang") or "").lower(), "", r["content"][:max_chars])
             for r in _kept_rows(data_uri) if r.get("doc_type") == "code" and len(r.get("content") or "") >= 80]
    return sorted(seeds, key=lambda s: (_order(seed, "file", s.repo_name, s.path), s.repo_name, s.path))


def doc_seeds(distributions: list[str], max_chars: int, seed: int) -> list[Seed]:
    """Documented public API of installed distributions (docstrings of top-level functions and classes)."""
    seeds = []
    for name in distributions:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError as e:
            raise OpcError(f"package_instruct: distribution {name!r} is not installed",
                           hint="list installed distributions under generators[].distributions") from e
        repo = f"{dist.metadata['Name']}=={dist.version}"
        for f in sorted(dist.files or [], key=str):
            if f.suffix != ".py" or "test" in str(f).lower():
                continue
            path = Path(str(f.locate()))
            try:
                source = path.read_text(encoding="utf-8")
                tree = ast.parse(source)
            except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
                continue
            module = str(f).removesuffix(".py").replace("/", ".").removesuffix(".__init__")
            for node in tree.body:
                if not isinstance(node, ast.FunctionDef | ast.ClassDef) or node.name.startswith("_"):
                    continue
                doc = ast.get_docstring(node) or ""
                if len(doc) < 60:
                    continue
                if isinstance(node, ast.FunctionDef):
                    sig = f"def {node.name}({ast.unparse(node.args)})"
                else:
                    sig = f"class {node.name}"
                seeds.append(Seed(repo, str(f), "python", f"{module}.{node.name}", doc[:max_chars], sig))
    return sorted(seeds, key=lambda s: (_order(seed, "doc", s.repo_name, s.name), s.name))
