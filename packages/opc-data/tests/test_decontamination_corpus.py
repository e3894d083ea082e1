"""Decontamination probes: verbatim and renamed benchmark copies inside real modules are removed;
ordinary files that share textbook idioms with benchmark items (is_prime, bubble sort, ...) are kept.

Runs against the default benchmarks (HumanEval and MBPP, both bundled: no ../shared needed).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from opc_data.decontamination import BenchmarkIndex, DecontaminationConfig, Decontaminator

CORPUS = Path(__file__).parent / "decon_corpus"


@pytest.fixture(scope="module")
def verdicts():
    decon = Decontaminator(DecontaminationConfig(), BenchmarkIndex.build(DecontaminationConfig()))
    cases = yaml.safe_load((CORPUS / "cases.yaml").read_text())
    return {name: (expect, decon.index.scan((CORPUS / name).read_text())) for name, expect in cases.items()}


def _names(hits):
    return {f"{h.benchmark}/{h.task_id}" for h in hits}


def test_every_verbatim_copy_is_removed_as_its_item(verdicts):
    probes = {n: v for n, v in verdicts.items() if n.startswith("verbatim/")}
    assert len(probes) >= 8
    missed = {n: (expect, _names(hits)) for n, (expect, hits) in probes.items() if expect not in _names(hits)}
    assert not missed


def test_renamed_copies_without_docstring_are_caught_by_shape(verdicts):
    probes = {n: v for n, v in verdicts.items() if n.startswith("renamed/")}
    assert len(probes) >= 4
    for name, (expect, hits) in probes.items():
        assert expect in _names(hits), (name, hits)
        assert any(h.by == "shape" and f"{h.benchmark}/{h.task_id}" == expect for h in hits), name


def test_no_ordinary_file_is_removed(verdicts):
    probes = {n: v for n, v in verdicts.items() if n.startswith("ordinary/")}
    assert len(probes) >= 10
    removed = {n: [(h.benchmark, h.task_id, h.by, h.score) for h in hits] for n, (_, hits) in probes.items() if hits}
    assert not removed


def test_one_shared_ngram_is_not_enough_and_the_deciding_score_is_reported():
    index = BenchmarkIndex.build(DecontaminationConfig())
    textbook = (CORPUS / "ordinary/primes.py").read_text()
    lax = BenchmarkIndex.build(DecontaminationConfig(min_ngram_hits=1, min_ngram_share=0.0, shape_match=False))
    shared = [h for h in lax.scan(textbook) if h.task_id == "3"]
    assert shared and shared[0].count >= 1 and shared[0].score < 0.5  # it shares a loop with MBPP/3 ...
    assert index.scan(textbook) == []  # ... which is not evidence of a copy
    decon = Decontaminator(DecontaminationConfig(), index)
    copy = (CORPUS / "verbatim/rotation.py").read_text()
    assert decon.reason(copy, {"path": "rotation.py"}) == "decontamination:humaneval/HumanEval/109"
    hit = decon.report()["hits"][0]
    assert hit["by"] in {"function", "ngram"} and hit["score"] == 1.0 and hit["ngrams"] > 10
