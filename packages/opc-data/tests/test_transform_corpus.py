"""The transforms on a planted corpus: >= 95% of the planted cases right, and no file stops parsing.

``transform_corpus/`` holds real-looking source files in Python, C, Java, JavaScript and Go with
licence headers, descriptions, e-mails, IPs, keys, passwords and phone numbers, and look-alikes that
must survive (versions, dates, matrix products, env-var names, build tags); ``cases.yaml`` says, per
file, which strings must be gone and which kept after ``apply_transforms``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from opc_data.pii import PiiRedactor
from opc_data.syntax_guard import parser_for
from opc_data.transforms import apply_transforms

CORPUS = Path(__file__).parent / "transform_corpus"


@pytest.fixture(scope="module")
def outcomes():
    cases = yaml.safe_load((CORPUS / "cases.yaml").read_text())
    pii = PiiRedactor()
    rows = []
    for name, expect in cases.items():
        lang = name.split("/")[0]
        src = (CORPUS / name).read_text()
        out = apply_transforms(src, lang, True, pii)
        for verdict in ("gone", "kept"):
            for case in expect.get(verdict, []):
                if case["kind"] != "layout":  # layout cases describe the result (blank lines joined)
                    assert case["text"] in src, f"{name}: case text not in the file: {case['text']!r}"
                ok = (case["text"] in out.content) == (verdict == "kept")
                rows.append((name, lang, case["kind"], verdict, case["text"], ok))
    return rows


def test_corpus_has_at_least_100_cases_in_five_languages(outcomes):
    assert len(outcomes) >= 100
    assert {lang for _, lang, *_ in outcomes} == {"python", "c", "java", "javascript", "go"}
    assert {verdict for *_, verdict, _, _ in outcomes} == {"gone", "kept"}


def test_at_least_95_percent_of_planted_cases_are_right(outcomes):
    wrong = [(name, verdict, text) for name, _, _, verdict, text, ok in outcomes if not ok]
    per_kind = Counter(kind for _, _, kind, _, _, ok in outcomes if not ok)
    assert len(wrong) <= 0.05 * len(outcomes), (per_kind, wrong)


def test_no_file_that_parsed_before_fails_to_parse_after():
    cases = yaml.safe_load((CORPUS / "cases.yaml").read_text())
    pii = PiiRedactor()
    for name in cases:
        lang = name.split("/")[0]
        src = (CORPUS / name).read_text()
        parses = parser_for(lang)
        assert parses is not None and parses(src), f"{name} should parse before"
        out = apply_transforms(src, lang, True, pii)
        assert parses(out.content), name
        assert not [k for k in out.counts if k.startswith("reverted_")], (name, out.counts)  # rules, not the guard
