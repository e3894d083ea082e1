"""Java signals equal the reference's values on the dev corpus, quirks included.

Agreement floor: 1.0 for every signal (reference regexes over our exact reproduction of Pygments' Java
comment split).
"""

from __future__ import annotations

from typing import Any

import pytest

from opc_data.document import Document
from opc_data.signals import lang_java

FLOORS = dict.fromkeys(lang_java.SIGNALS, 1.0)


AGREEMENT = {"langs": {"java"}, "compute": lang_java.compute, "floors": FLOORS, "min_files": 300}


@pytest.mark.parametrize("signal", sorted(FLOORS))
def test_signal_agrees_with_reference_on_dev(signal_agreement: Any, signal: str) -> None:
    signal_agreement.assert_agrees(signal)


def test_every_reference_signal_is_computed(signal_agreement: Any) -> None:
    assert set(signal_agreement.counts) == set(FLOORS)


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
