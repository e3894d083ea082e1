"""C# signals equal the reference's values on the dev corpus; the var_zero bug is kept by default.

Agreement floor: 1.0 for every signal (reference regexes over our exact reproduction of Pygments' C#
comment split). ``qsc_codecsharp_cate_var_zero`` is always 0.0 in the reference (it compares a list with
0); ``corrected=True`` gives the intended value.
"""

from __future__ import annotations

from typing import Any

import pytest

from opc_data.document import Document
from opc_data.signals import lang_csharp

FLOORS = dict.fromkeys(lang_csharp.SIGNALS, 1.0)


AGREEMENT = {"langs": {"csharp"}, "compute": lang_csharp.compute, "floors": FLOORS, "min_files": 300}


@pytest.mark.parametrize("signal", sorted(FLOORS))
def test_signal_agrees_with_reference_on_dev(signal_agreement: Any, signal: str) -> None:
    signal_agreement.assert_agrees(signal)


def test_every_reference_signal_is_computed(signal_agreement: Any) -> None:
    assert set(signal_agreement.counts) == set(FLOORS)


def _doc(src: str) -> Document:
    return Document(src, filename="A.cs", program_lang="csharp", doc_type="code")


def test_var_zero_never_fires_by_default_but_does_when_corrected() -> None:
    no_decl = _doc("class A {\n  void F() { G(); }\n}\n")
    with_decl = _doc("class A {\n  void F() { int x = 1; }\n}\n")
    assert lang_csharp.compute(no_decl)["qsc_codecsharp_cate_var_zero"] == 0.0
    assert lang_csharp.compute(with_decl)["qsc_codecsharp_cate_var_zero"] == 0.0
    assert lang_csharp.compute(no_decl, corrected=True)["qsc_codecsharp_cate_var_zero"] == 1.0
    assert lang_csharp.compute(with_decl, corrected=True)["qsc_codecsharp_cate_var_zero"] == 0.0


def test_console_lines_in_comments_do_not_count() -> None:
    src = "// Console.WriteLine(1);\nConsole.WriteLine(2);\n/* Console.WriteLine(3); */\n"
    assert lang_csharp.compute(_doc(src))["qsc_codecsharp_frac_lines_print"] == 1.0


def test_other_languages_get_nothing() -> None:
    assert lang_csharp.compute(Document("x", filename="a.go", program_lang="go", doc_type="code")) == {}
