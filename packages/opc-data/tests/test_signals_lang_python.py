"""Python-specific signals equal the reference's values on the dev corpus, and keep its definitions.

Agreement floor: 1.0 for every signal. The definitions are ported exactly (the interpreter's own
``ast``, the reference's regexes, Pygments' comment classification reproduced by our scanner), so on
the reference's own output any disagreement is a bug, not an approximation.
"""

from __future__ import annotations

from typing import Any

import pytest

from opc_data.document import Document
from opc_data.signals import lang_python

FLOORS = dict.fromkeys(lang_python.SIGNALS, 1.0)


AGREEMENT = {"langs": {"python"}, "compute": lang_python.compute, "floors": FLOORS, "min_files": 401}


@pytest.mark.parametrize("signal", sorted(FLOORS))
def test_signal_agrees_with_reference_on_dev(signal_agreement: Any, signal: str) -> None:
    signal_agreement.assert_agrees(signal)


def test_every_reference_signal_is_computed(signal_agreement: Any) -> None:
    assert set(signal_agreement.counts) == set(FLOORS)


def _doc(src: str) -> Document:
    return Document(src, filename="m.py", program_lang="python", doc_type="code")


def test_comments_and_docstrings_are_not_code_lines() -> None:
    src = '"""Module doc."""\n# comment\nimport os\n\n\ndef f(x):\n    """Doc."""\n    return x\n'
    out = lang_python.compute(_doc(src))
    # code lines: "import os", "def f(x):", "return x"
    assert out["qsc_codepython_frac_lines_import"] == pytest.approx(1 / 3, abs=1e-8)
    assert out["qsc_codepython_frac_lines_func_ratio"] == pytest.approx(1 / 3, abs=1e-8)
    assert out["qsc_codepython_frac_lines_simplefunc"] == 0.0  # the docstring is a body statement too
    assert out["qsc_codepython_cate_var_zero"] is False  # a def with a positional parameter


def test_async_def_is_not_a_function_for_the_reference() -> None:
    out = lang_python.compute(_doc("async def f():\n    return 1\n"))
    assert out["qsc_codepython_frac_lines_func_ratio"] == 0.0
    assert out["qsc_codepython_cate_var_zero"] is True


def test_class_members_count_only_outermost_classes() -> None:
    src = "class A:\n    x = 1\n    y: int = 2\n    class B:\n        z = 3\n"
    out = lang_python.compute(_doc(src))
    # 2 classes + 2 members of A (B's member is not visited by the reference) over 5 lines
    assert out["qsc_codepython_score_lines_no_logic"] == pytest.approx(4 / 5)


def test_unparsable_file_has_no_ast_signals_but_line_signals() -> None:
    out = lang_python.compute(_doc("print 'py2'\nimport os\n"))
    assert out["qsc_codepython_cate_ast"] == 0.0
    assert out["qsc_codepython_cate_var_zero"] is None
    assert out["qsc_codepython_score_lines_no_logic"] is None
    assert out["qsc_codepython_frac_lines_import"] == 0.5
    assert out["qsc_codepython_frac_lines_print"] == 0.5


def test_empty_file_gives_zero_or_none_as_the_reference() -> None:
    out = lang_python.compute(_doc(""))
    assert out["qsc_codepython_cate_ast"] == 1.0
    assert out["qsc_codepython_frac_lines_pass"] == 0.0
    assert out["qsc_codepython_frac_lines_print"] is None
    assert out["qsc_codepython_frac_lines_func_ratio"] is None


def test_deeply_nested_code_does_not_hit_the_recursion_limit() -> None:
    src = "".join("    " * i + f"if x{i}:\n" for i in range(90)) + "    " * 90 + "y = 1\n"
    out = lang_python.compute(_doc(src))
    assert out["qsc_codepython_cate_ast"] == 1.0
    assert out["qsc_codepython_cate_var_zero"] is False
