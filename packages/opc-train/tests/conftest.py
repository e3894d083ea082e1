"""Fixtures for opc-train tests.

A tiny real corpus for tokenizer tests: source files of installed distributions as a data-stage ``kept/``.

Each distribution is one "repository"; its ``.py`` files are Python code, its METADATA/LICENSE text is
Markdown/text, so mixtures, language groups and repository-level splits have something real to act on.
"""

from __future__ import annotations

from importlib.metadata import distribution
from pathlib import Path

import pyarrow as pa
import pytest

from opc_core import dataset, storage

DISTS = ("typer", "click", "PyYAML", "Jinja2", "markdown-it-py", "mdurl", "shellingham")
SCHEMA = pa.schema([
    ("repo_name", pa.string()), ("path", pa.string()), ("content", pa.string()), ("program_lang", pa.string()),
    ("doc_type", pa.string()), ("license", pa.string()), ("size", pa.int64()), ("stars", pa.int64()),
])


def corpus_rows(max_bytes_per_dist: int = 400_000) -> list[dict]:
    rows = []
    for name in DISTS:
        dist = distribution(name)
        used = 0
        for f in sorted(dist.files or [], key=str):
            p = Path(str(dist.locate_file(f)))
            if p.suffix == ".py":
                lang, doc_type = "Python", "code"
            elif p.name in ("METADATA", "LICENSE", "LICENSE.txt", "LICENSE.rst") or p.suffix in (".md", ".rst"):
                lang, doc_type = "Markdown", "text"
            else:
                continue
            text = p.read_text(encoding="utf-8", errors="replace")
            if used + len(text) > max_bytes_per_dist:
                continue
            used += len(text)
            rows.append({"repo_name": f"pypi/{name}", "path": str(f), "content": text, "program_lang": lang,
                         "doc_type": doc_type, "license": "OSI", "size": len(text.encode()), "stars": 1})
    rows.append({"repo_name": "pypi/empty", "path": "empty.py", "content": "", "program_lang": "Python",
                 "doc_type": "code", "license": None, "size": 0, "stars": 0})
    return rows


def _write_kept(output_uri: str, rows: list[dict] | None = None, rows_per_shard: int = 200) -> list[dict]:
    rows = corpus_rows() if rows is None else rows
    with dataset.ShardWriter(storage.join(output_uri, "kept"), SCHEMA, rows_per_shard=rows_per_shard) as w:
        w.write_many(rows)
    return rows


@pytest.fixture(scope="session")
def code_corpus() -> list[dict]:
    """Rows of a small, real data-stage ``kept/`` (see ``corpus_rows``)."""
    return corpus_rows()


@pytest.fixture(scope="session")
def corpus_texts(code_corpus) -> list[str]:
    return [r["content"] for r in code_corpus if r["content"]]


@pytest.fixture(scope="session")
def write_kept():
    """``write_kept(output_uri, rows=None)``: write rows as ``<output_uri>/kept/part-*.parquet``."""
    return _write_kept
