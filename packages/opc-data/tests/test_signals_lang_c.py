"""C and C++ signals equal the reference's values on the dev corpus, and keep its definitions.

Agreement floor: 1.0 for every signal. The reference's regexes run unchanged over the comment-free code,
and our C/C++ scanner reproduces Pygments 2.18's comment split on every dev file, so a disagreement is a
bug. (Pygments 2.21, the pinned one, lexes some C files differently; we follow 2.18, the reference's.)
"""

from __future__ import annotations

from typing import Any

import pytest

from opc_data.document import Document
from opc_data.signals import lang_c

FLOORS = dict.fromkeys(lang_c.SIGNALS_C + lang_c.SIGNALS_CPP, 1.0)


AGREEMENT = {"langs": {"c", "cpp"}, "compute": lang_c.compute, "floors": FLOORS, "min_files": 50}


@pytest.mark.parametrize("signal", sorted(FLOORS))
def test_signal_agrees_with_reference_on_dev(signal_agreement: Any, signal: str) -> None:
    signal_agreement.assert_agrees(signal)


def test_every_reference_signal_is_computed(signal_agreement: Any) -> None:
    assert set(signal_agreement.counts) == set(FLOORS)


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
