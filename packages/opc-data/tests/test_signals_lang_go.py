"""Go signals equal the reference's values on the dev corpus; its quirks and var_zero bug are kept.

Agreement floor: 1.0 for every signal (reference regexes over our exact reproduction of Pygments' Go
comment split; ``cate_testfile`` only reads the file name).
"""

from __future__ import annotations

from typing import Any

import pytest

from opc_data.document import Document
from opc_data.signals import lang_go

FLOORS = dict.fromkeys(lang_go.SIGNALS, 1.0)


AGREEMENT = {"langs": {"go"}, "compute": lang_go.compute, "floors": FLOORS, "min_files": 200}


@pytest.mark.parametrize("signal", sorted(FLOORS))
def test_signal_agrees_with_reference_on_dev(signal_agreement: Any, signal: str) -> None:
    signal_agreement.assert_agrees(signal)


def test_every_reference_signal_is_computed(signal_agreement: Any) -> None:
    assert set(signal_agreement.counts) == set(FLOORS)


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
