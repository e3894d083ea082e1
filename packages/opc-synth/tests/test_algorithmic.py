"""The algorithmic selector: precision and recall on a hand-labelled fixture, and the stage's output."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow.parquet as pq

FIXTURE = Path(__file__).parent / "fixtures" / "algorithmic_labelled.jsonl.gz"


def test_marker_selector_precision_and_recall_on_the_hand_labelled_sample():
    from opc_synth.algorithmic_markers import load_markers

    markers = load_markers()
    rows = [json.loads(line) for line in gzip.open(FIXTURE, "rt")]
    assert len(rows) == 136 and sum(r["algorithmic"] for r in rows) == 45
    tp = fp = fn = 0
    for r in rows:
        selected, _ = markers.match(r["content"])
        tp += selected and r["algorithmic"]
        fp += selected and not r["algorithmic"]
        fn += (not selected) and r["algorithmic"]
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    # measured: precision 36/36 = 1.00, recall 36/45 = 0.80 (fixtures/README.md)
    assert precision >= 0.97, (precision, tp, fp)
    assert recall >= 0.78, (recall, tp, fn)


def test_one_strong_marker_or_two_weak_ones_select_a_file():
    from opc_synth.algorithmic_markers import load_markers

    m = load_markers()
    assert m.match("class Solution:\n    def twoSum(self, nums, target):\n        pass\n") == (True, ["class_solution"])
    assert m.match('"""Given an array of integers, return the number of pairs."""\n')[0]
    assert not m.match('"""Given a string, strip it."""\ndef f(s):\n    return s.strip()\n')[0]  # one weak marker
    assert m.match("import os\n")[1] == []
    long_module = '"""Given an array of items, return the number of pairs."""\n' + "x = 1\n" * 4000
    assert not m.match(long_module)[0]  # weak markers alone do not select a long module


def test_algorithmic_stage_keeps_marked_files_with_their_markers(tmp_path, ctx_factory):
    import pyarrow as pa

    from opc_core.dataset import ShardWriter
    from opc_synth.algorithmic_stage import STAGE, AlgorithmicConfig

    data = tmp_path / "data"
    schema = pa.schema([(c, pa.string()) for c in ("repo_name", "path", "content", "program_lang", "doc_type")])
    rows = [json.loads(line) for line in gzip.open(FIXTURE, "rt")]
    with ShardWriter(str(data / "kept"), schema) as w:
        w.write_many({"repo_name": r["repo_name"], "path": r["path"], "content": r["content"],
                      "program_lang": "python", "doc_type": "code"} for r in rows)
    ctx = ctx_factory(tmp_path, data, stage="algorithmic")
    result = STAGE.run(AlgorithmicConfig(), ctx)
    out = pq.read_table(sorted((Path(ctx.output_uri) / "kept").glob("part-*.parquet"))).to_pylist()
    assert result.counts.records_in == 136 and result.counts.kept == len(out) == 36
    assert all(r["markers"] and r["generator"] == "algorithmic" and r["exec_status"] == "not_run" for r in out)
    assert {"content", "repo_name", "path", "doc_type", "program_lang", "generator", "teacher", "tests",
            "exec_status", "markers"} == set(out[0])
    assert result.metrics["sets"]["algorithmic"]["rows"] == 36
