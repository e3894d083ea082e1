"""Go signals equal the reference's values on the dev corpus; its quirks and var_zero bug are kept.

Agreement floor: 1.0 for every signal (reference regexes over our exact reproduction of Pygments' Go
comment split; ``cate_testfile`` only reads the file name).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opc_data.document import Document
from opc_data.signals import lang_go

FLOORS = dict.fromkeys(lang_go.SIGNALS, 1.0)


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
    for r, doc in _dev_documents(shared_dir, {'go'}):
        got = lang_go.compute(doc)
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
    assert total >= 200
    assert agree / total >= FLOORS[signal], f"{signal}: {agree}/{total}"


def test_every_reference_signal_is_computed(agreement: dict[str, tuple[int, int]]) -> None:
    assert set(agreement) == set(FLOORS)


def _doc(src: str, filename: str = "main.go") -> Document:
    return Document(src, filename=filename, program_lang="go", doc_type="code")


def test_test_files_are_recognised_by_full_name() -> None:
    assert lang_go.compute(_doc("package a\n", "a_test.go"))["qsc_codego_cate_testfile"] == 1.0
    assert lang_go.compute(_doc("package a\n", "a.go"))["qsc_codego_cate_testfile"] == 0.0


def test_var_zero_never_fires_by_default_but_does_when_corrected() -> None:
    no_decl = _doc("package a\n\nfunc F() {\n\tG()\n}\n")
    with_decl = _doc("package a\n\nfunc F() {\n\tx := 1\n\t_ = x\n}\n")
    assert lang_go.compute(no_decl)["qsc_codego_cate_var_zero"] == 0.0
    assert lang_go.compute(no_decl, corrected=True)["qsc_codego_cate_var_zero"] == 1.0
    assert lang_go.compute(with_decl, corrected=True)["qsc_codego_cate_var_zero"] == 0.0


def test_import_count_sees_single_imports_and_block_openers_only() -> None:
    src = 'package a\n\nimport "fmt"\nimport (\n\t"os"\n\t"io"\n)\n'
    out = lang_go.compute(_doc(src))
    # code lines: package, import "fmt", import (, "os", "io", ) -> imports counted: 2 (the reference's quirk)
    assert out["qsc_codego_score_lines_no_logic"] == pytest.approx(2 / 6, abs=1e-8)
