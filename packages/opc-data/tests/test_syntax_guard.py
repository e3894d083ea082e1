"""The syntax guard: an edit that breaks a file that parsed is refused; unparsable files are not judged."""

from __future__ import annotations

import pytest

from opc_data.pii import PiiRedactor
from opc_data.syntax_guard import SyntaxGuard, parser_for
from opc_data.transforms import apply_transforms

VALID = {
    "python": "def f(a):\n    return a @ b.T\n",
    "c": "int main(void) { const char *s = \"x\"; return 0; }\n",
    "java": "class A { String s = \"x\"; int f() { return 1; } }\n",
    "javascript": "const s = 'x';\nfunction f(a) { return a + 1; }\n",
    "go": "package a\n\nfunc f() string { return \"x\" }\n",
}


@pytest.mark.parametrize("lang", sorted(VALID))
def test_each_guarded_language_tells_broken_from_valid(lang):
    parses = parser_for(lang)
    assert parses(VALID[lang])
    assert not parses(VALID[lang].replace("return", "return <EMAIL> <EMAIL>", 1))


def test_edit_breaking_a_parsing_file_is_refused_and_an_unparsable_file_is_not_judged():
    src = "x = 1\n"
    assert not SyntaxGuard(src, "python").keep(src, "x = <IP_ADDRESS>.1\n")
    assert SyntaxGuard(src, "python").keep(src, "x = 2\n")
    py2 = "print 'hello'\n"
    assert SyntaxGuard(py2, "python").keep(py2, "print '<EMAIL>'\n")  # did not parse before: not judged
    assert SyntaxGuard("a b c", "unknown-lang").keep("a b c", "a <KEY> c")  # no parser: not judged


def test_a_refused_pii_kind_is_reverted_whole_and_counted():
    src = 'HOST = "203.0.113.7"\nOWNER = "jane@corp.io"\n'
    out, counts = PiiRedactor()(src, "python", keep=lambda kind, before, after: kind != "email")
    assert out == 'HOST = "<IP_ADDRESS>"\nOWNER = "jane@corp.io"\n'
    assert counts == {"ip_address": 1, "reverted_email": 1}


def test_transforms_count_by_kind_and_keep_one_sample_per_kind():
    src = '# Copyright 2020 Jane Doe\n# SPDX-License-Identifier: MIT\n\nHOST = "203.0.113.7"\nX = 1\n'
    done = apply_transforms(src, "python", True, PiiRedactor(), samples=True)
    assert done.content == 'HOST = "<IP_ADDRESS>"\nX = 1\n'
    assert done.counts == {"copyright_files": 1, "copyright_lines": 2, "pii_ip_address": 1, "pii_files": 1}
    assert set(done.samples) == {"copyright", "pii_ip_address"}
    assert "203.0.113.7" in done.samples["pii_ip_address"]["before"]
    assert "<IP_ADDRESS>" in done.samples["pii_ip_address"]["after"]
