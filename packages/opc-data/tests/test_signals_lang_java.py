"""Java signals equal the reference's values on the dev corpus, quirks included.

Agreement floor: 1.0 for every signal (reference regexes over our exact reproduction of Pygments' Java
comment split).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opc_data.document import Document
from opc_data.signals import lang_java

FLOORS = dict.fromkeys(lang_java.SIGNALS, 1.0)


def _dev_documents(shared_dir: Path, langs: set[str]) -> Iterator[tuple[dict[str, Any], Document]]:
    """(reference record, Document) for the dev files of ``langs`` that the reference gave signals."""
    ref_path = shared_dir / "reference" / "opc_dev.jsonl.gz"
    raw_path = shared_dir / "data" / "raw_code" / "dev.jsonl.gz"
    with gzip.open(ref_path, "rt", encoding="utf-8") as ref, gzip.open(raw_path, "rt", encoding="utf-8") as raw:
        for ref_line, raw_line in zip(ref, raw, strict=True):
            r = json.loads(ref_line)
            if r["program_lang"] in langs and r["doc_type"] in ("code", "data"):
                x = json.loads(raw_line)
                yield r, Document(x["content"], filename=r["filename"], ext=r["ext"],
                                  program_lang=r["program_lang"], doc_type=r["doc_type"], size_bytes=x["size"])


def _same(expected: Any, got: Any) -> bool:
    if got == "missing":
        return False
    if expected is None or got is None:
        return expected is None and got is None
    return abs(float(expected) - float(got)) <= 1e-6


@pytest.fixture(scope="module")
def agreement(shared_dir: Path) -> dict[str, tuple[int, int]]:
    counts: dict[str, list[int]] = {}
    for r, doc in _dev_documents(shared_dir, {'java'}):
        got = lang_java.compute(doc)
        for name, expected in r["signals"].items():
            if name.startswith("qsc_code_"):
                continue
            c = counts.setdefault(name, [0, 0])
            c[1] += 1
            c[0] += _same(expected, got.get(name, "missing"))
    return {k: (a, n) for k, (a, n) in counts.items()}


@pytest.mark.parametrize("signal", sorted(FLOORS))
def test_signal_agrees_with_reference_on_dev(agreement: dict[str, tuple[int, int]], signal: str) -> None:
    agree, total = agreement[signal]
    assert total >= 300
    assert agree / total >= FLOORS[signal], f"{signal}: {agree}/{total}"


def test_every_reference_signal_is_computed(agreement: dict[str, tuple[int, int]]) -> None:
    assert set(agreement) == set(FLOORS)


def _doc(src: str) -> Document:
    return Document(src, filename="A.java", program_lang="java", doc_type="code")


def test_legal_var_name_tests_the_second_character_as_the_reference_does() -> None:
    # "Foo_bar x;" -> the reference tests "o" (2nd char of the match), a legal name; "X1 y;" -> "1", not
    out = lang_java.compute(_doc("class A {\n  Foo_bar x;\n  X1 y;\n}\n"))
    assert out["qsc_codejava_frac_words_legal_var_name"] == 0.5


def test_class_modifiers_never_count_in_no_modifier_ratio() -> None:
    out = lang_java.compute(_doc("public class A {\n  public void f() { }\n}\n"))
    # one method with a modifier, one class (tuple membership never matches): 1 / 2
    assert out["qsc_codejava_frac_words_no_modifier"] == 0.5


def test_no_field_or_local_declaration_sets_var_zero() -> None:
    assert lang_java.compute(_doc("class A { void f() { g(); } }\n"))["qsc_codejava_cate_var_zero"] == 1.0
    assert lang_java.compute(_doc("class A {\n  int x = 1;\n}\n"))["qsc_codejava_cate_var_zero"] == 0.0
