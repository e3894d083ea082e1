"""JavaScript signals (tree-sitter mapped to esprima 4.0.1's ESTree) against the reference's values.

Agreement floors: the reference parses with esprima 4.0.1, we parse with tree-sitter and map the tree
to the same facts (see ``opc_data.signals.lang_javascript``). Measured agreement on dev is 179/179 for
every signal (and 1,899/1,899 further JavaScript files checked against esprima itself while
developing); the floor for the parser-dependent signals is 0.98, leaving room for esprima early errors
tree-sitter does not model (about 3 files of the 179) without letting a systematic mapping error through.
``frac_lines_print`` depends only on the comment split: floor 1.0.
"""

from __future__ import annotations

from typing import Any

import pytest

from opc_data.document import Document
from opc_data.signals import lang_javascript

FLOORS = dict.fromkeys(lang_javascript.SIGNALS, 0.98)
FLOORS["qsc_codejavascript_frac_lines_print"] = 1.0


AGREEMENT = {"langs": {"javascript"}, "compute": lang_javascript.compute, "floors": FLOORS, "min_files": 150}


@pytest.mark.parametrize("signal", sorted(FLOORS))
def test_signal_agrees_with_reference_on_dev(signal_agreement: Any, signal: str) -> None:
    signal_agreement.assert_agrees(signal)


def test_every_reference_signal_is_computed(signal_agreement: Any) -> None:
    assert set(signal_agreement.counts) == set(FLOORS)


def _out(src: str) -> dict[str, Any]:
    return lang_javascript.compute(Document(src, filename="a.js", program_lang="javascript", doc_type="code"))


@pytest.mark.parametrize(
    "src",
    ["a?.b;\n", "a ?? b;\n", "class A { x = 1; }\n", "var n = 10n;\n", "try {} catch {}\n",
     "var a = <div/>;\n", "#!/usr/bin/env node\nvar a;\n", "var r = /(?<y>x)/;\n", "a ||= b;\n",
     "import x from 'y';\nwith (a) {}\n", "return 1;\n", "await x;\n", "var a = 1_000;\n"],
)
def test_syntax_esprima_4_rejects_fails_cate_ast(src: str) -> None:
    out = _out(src)
    assert out["qsc_codejavascript_cate_ast"] == 0.0
    assert out["qsc_codejavascript_cate_var_zero"] is None


def test_es2017_code_parses_and_counts_like_esprima() -> None:
    src = (
        "import a from 'a';\n"
        "var f = function () { return 1; };\n"
        "const g = async function () { return x; };\n"
        "let { p, q } = obj;\n"
        "for (const item of list) { console.log(item); }\n"
        "module.exports.run = () => f();\n"
        "module.exports.version = '1';\n"
        "class Thing { m() { return (-1); } }\n"
    )
    out = _out(src)
    assert out["qsc_codejavascript_cate_ast"] == 1.0
    # variables: g (async fn expr is not a FunctionExpression for esprima), item, version -> var_zero 0
    assert out["qsc_codejavascript_cate_var_zero"] == 0.0
    # functions: f, run (2) over 8 code lines
    assert out["qsc_codejavascript_frac_lines_func_ratio"] == 0.25
    assert out["qsc_codejavascript_frac_words_legal_var_name"] == 1.0
    assert out["qsc_codejavascript_frac_words_legal_class_name"] == 1.0
    assert out["qsc_codejavascript_num_statement_line"] == 1.0
    # functions 2 + imports 1 + simple declarators ({p,q}, item, version) 3 + simple returns (1, x, (-1)) 3
    # + classes 1; esprima 4.0.1 on this source gives the same counts
    assert out["qsc_codejavascript_score_lines_no_logic"] == pytest.approx(10 / 8)


def test_computed_module_exports_key_counts_as_esprima_does() -> None:
    # esprima: MemberExpression(computed) whose property is the Identifier `code` -> a variable "code"
    out = _out("function E(code) {\n  module.exports[code] = 1;\n}\n")
    assert out["qsc_codejavascript_cate_var_zero"] == 0.0
    assert out["qsc_codejavascript_frac_words_legal_var_name"] == 1.0


def test_no_declarator_sets_var_zero() -> None:
    assert _out("foo(1);\nbar();\n")["qsc_codejavascript_cate_var_zero"] == 1.0


def test_using_is_an_identifier_for_esprima() -> None:
    out = _out("var using = 1;\nusing = function () {};\n")
    assert out["qsc_codejavascript_cate_ast"] == 1.0
    assert out["qsc_codejavascript_frac_words_legal_var_name"] == 1.0
