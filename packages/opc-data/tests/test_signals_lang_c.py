"""C and C++ signals equal the reference's values on the dev corpus, and keep its definitions.

Agreement floor: 1.0 for every signal. The reference's regexes run unchanged over the comment-free code,
and our C/C++ scanner reproduces Pygments 2.18's comment split on every dev file, so a disagreement is a
bug. (Pygments 2.21, the pinned one, lexes some C files differently; we follow 2.18, the reference's.)
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opc_data.document import Document
from opc_data.signals import lang_c

FLOORS = dict.fromkeys(lang_c.SIGNALS_C + lang_c.SIGNALS_CPP, 1.0)


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
    for r, doc in _dev_documents(shared_dir, {'c', 'cpp'}):
        got = lang_c.compute(doc)
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
    assert total >= 50
    assert agree / total >= FLOORS[signal], f"{signal}: {agree}/{total}"


def test_every_reference_signal_is_computed(agreement: dict[str, tuple[int, int]]) -> None:
    assert set(agreement) == set(FLOORS)


def _doc(src: str, lang: str = "c", filename: str = "m.c") -> Document:
    return Document(src, filename=filename, program_lang=lang, doc_type="code")


def test_header_files_have_no_preprocessor_ratio() -> None:
    src = "#include <a.h>\nint f(int x);\n"
    assert lang_c.compute(_doc(src, filename="m.h"))["qsc_codec_frac_lines_preprocessor_directives"] is None
    assert lang_c.compute(_doc(src))["qsc_codec_frac_lines_preprocessor_directives"] == 0.5


def test_commented_out_code_does_not_count() -> None:
    src = "int main(void) {\n  // printf(\"x\");\n  /* goto end; */\n  return 0;\n}\n"
    out = lang_c.compute(_doc(src))
    assert out["qsc_codec_frac_lines_print"] == 0.0
    assert out["qsc_codec_frac_lines_goto"] == 0.0
    assert out["qsc_codec_nums_lines_main"] == 1


def test_cpp_counts_cout_and_uses_its_own_prefix() -> None:
    out = lang_c.compute(_doc("#include <bits/stdc++.h>\nint main() { std::cout << 1; }\n", "cpp", "a.cpp"))
    assert out["qsc_codecpp_frac_lines_print"] == 0.5
    assert out["qsc_codecpp_cate_bitsstdc"] == 1.0
    assert out["qsc_codecpp_nums_lines_main"] == 1.0
    assert not any(k.startswith("qsc_codec_") for k in out)


def test_no_declaration_sets_var_zero() -> None:
    assert lang_c.compute(_doc("f();\n"))["qsc_codec_cate_var_zero"] == 1.0
    assert lang_c.compute(_doc("int x = 1;\n"))["qsc_codec_cate_var_zero"] == 0.0
