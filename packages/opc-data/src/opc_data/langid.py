"""Language identification by file name and extension: ``identify(path) -> (program_lang, doc_type)``.

    raw record ──▶ identify(record["path"]) ──▶ program_lang ("python", "markdown", ...)
                                               doc_type     code | data | text | excluded | unknown

Where it sits: right after ingest; ``doc_type`` picks the threshold table of the filter (text rules,
general + language-specific code rules, data rules), ``excluded``/``unknown`` files are dropped before any
signal is computed, as in the OpenCoder reference pipeline.

How (the reference's rule, reproduced exactly):
  1. the base name (last ``/``-separated component) looked up in the file-name table
     (``CMakeLists.txt`` -> cmake, ``Makefile`` -> makefile, ``.gitignore`` -> ignore list);
  2. otherwise the extension as ``os.path.splitext`` gives it (text after the last dot, ``""`` for
     dotfiles such as ``.coveragerc``) in the extension table; lookups are case-sensitive (``.C`` -> cpp,
     ``.c`` -> c);
  3. otherwise ``unknown``. The doc type is ``excluded`` for a language on the exclusion list (svg, csv,
     jupyter notebook, ...), else the language's type, else ``unknown``.

The tables live in ``languages.json`` (our own data file; 644 languages reachable, 732 typed). Known
reference quirks kept on purpose so decisions compare with the paper's pipeline: ``.cfg`` -> haproxy,
``.s`` -> motorola 68k assembly, ``.m`` -> limbo, ``.h`` -> c even in C++ projects, ``.pp`` -> csharp.

What it does NOT do: look at content (no shebang or heuristics); a content-based override would change
which rules apply and so break comparability with the reference.
"""

from __future__ import annotations

import json
import posixpath
from functools import lru_cache
from importlib import resources
from typing import Any

DOC_TYPES: tuple[str, ...] = ("code", "data", "text", "excluded", "unknown")
UNKNOWN = "unknown"


@lru_cache(maxsize=1)
def tables() -> dict[str, Any]:
    """The parsed ``languages.json`` (loaded once per process)."""
    text = resources.files("opc_data").joinpath("languages.json").read_text(encoding="utf-8")
    data = json.loads(text)
    data["excluded_set"] = frozenset(data["excluded_languages"])
    return data


def split_name(path: str) -> tuple[str, str]:
    """(base name, extension) the way the reference computes them (``os.path.splitext`` on the base name)."""
    base = path.replace("\\", "/").rsplit("/", 1)[-1]
    ext = posixpath.splitext(base)[1]
    return base, ext[1:] if ext else ""


def program_lang(path: str) -> str:
    return identify(path)[0]


def doc_type(lang: str) -> str:
    t = tables()
    if lang in t["excluded_set"]:
        return "excluded"
    return t["language_doc_type"].get(lang, UNKNOWN)


@lru_cache(maxsize=65536)
def _identify_base(base: str) -> tuple[str, str]:
    t = tables()
    lang = t["filenames"].get(base)
    if lang is None:
        ext = posixpath.splitext(base)[1]
        lang = t["extensions"].get(ext[1:] if ext else "", UNKNOWN)
    return lang, doc_type(lang)


def identify(path: str) -> tuple[str, str]:
    """``(program_lang, doc_type)`` for a file path (only its base name matters; cached per base name)."""
    return _identify_base(path.replace("\\", "/").rsplit("/", 1)[-1])


def languages() -> list[str]:
    """Every language some file name or extension maps to, sorted."""
    t = tables()
    return sorted(set(t["filenames"].values()) | set(t["extensions"].values()))
