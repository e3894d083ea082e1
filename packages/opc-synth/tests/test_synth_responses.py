"""The passing path end to end with a ``responses`` teacher built from real, known-correct solutions
(MBPP code + tests, a HumanEval canonical solution) and deliberately wrong ones: only samples whose
tests pass are kept; a failing, hanging, exiting or pass-printing sample is rejected with its reason;
duplicates are removed; benchmark solutions are decontaminated; the output is byte-identical on a rerun.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest


@pytest.fixture
def cfg(responses_cfg):
    return responses_cfg


def _run(tmp_path, ctx_factory, seed_data, cfg):
    from opc_synth.synth_stage import STAGE

    ctx = ctx_factory(tmp_path, seed_data)
    return STAGE.run(cfg, ctx), Path(ctx.output_uri)


def _rejected(out: Path) -> dict[str, str]:
    rows = pq.read_table(sorted((out / "rejected").glob("part-*.parquet"))).to_pylist()
    return {r["path"].rsplit("#", 1)[1]: r["reason"] for r in rows}


def test_only_samples_whose_tests_pass_are_kept_and_every_rejection_has_its_reason(cfg, tmp_path, ctx_factory, seed_data,
                                                                                   responses_file):
    result, out = _run(tmp_path, ctx_factory, seed_data, cfg(responses_file))
    rejected = _rejected(out)
    assert rejected == {
        "hq_snippets/1": "syntax_error", "hq_snippets/2": "no_test",
        "educational_instruct/2": "test_failed", "educational_instruct/3": "timeout",
        "educational_instruct/4": "test_failed", "educational_instruct/5": "test_failed",
        "educational_instruct/6": "dedup:exact", "educational_instruct/7": "decontamination:humaneval/HumanEval/2",
        "textbooks/1": "format", "package_instruct/1": "api_not_quoted", "diverse_instruct/1": "language_mismatch",
    }
    sets = result.metrics["sets"]
    assert {n: s["rows"] for n, s in sets.items()} == {"hq_snippets": 1, "educational_instruct": 2, "textbooks": 1,
                                                       "package_instruct": 1, "diverse_instruct": 1}
    assert result.counts.records_in == 17 and result.counts.kept == 6 and result.counts.rejected == 11
    f = result.metrics["funnel"]["educational_instruct"]
    assert (f["generated"], f["parsed"], f["executed"], f["passed"], f["deduped"], f["decontaminated"]) == (8, 8, 8, 4, 3, 2)
    # instruction sets: messages (user, assistant) + provenance; pretraining sets: the data stage's columns
    edu = pq.read_table(sorted((out / sets["educational_instruct"]["path"]).glob("*.parquet"))).to_pylist()
    assert [m["role"] for m in edu[0]["messages"]] == ["user", "assistant"]
    assert edu[0]["exec_status"] == "passed" and edu[0]["tests"].startswith("assert")
    assert edu[0]["repo_name"] == "psf/requests" and edu[0]["teacher"].startswith("responses:")
    snip = pq.read_table(sorted((out / "kept").rglob("*.parquet"))).to_pylist()
    assert {r["generator"] for r in snip} == {"hq_snippets", "textbooks"}
    assert {"content", "repo_name", "path", "doc_type", "program_lang"} <= set(snip[0])
    assert (out / "report" / "synth.html").read_text().count("educational_instruct") >= 2


def test_rerun_gives_byte_identical_output(cfg, tmp_path, ctx_factory, seed_data, responses_file):
    _, a = _run(tmp_path / "a", ctx_factory, seed_data, cfg(responses_file))
    _, b = _run(tmp_path / "b", ctx_factory, seed_data, cfg(responses_file))
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files and files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)


def test_decontamination_against_mbpp_removes_the_mbpp_derived_samples(cfg, tmp_path, ctx_factory, seed_data,
                                                                      responses_file, shared_dir, caplog):
    cfg = cfg(responses_file, mbpp_decontam=str(shared_dir / "data" / "eval" / "mbpp.jsonl.gz"))
    result, out = _run(tmp_path, ctx_factory, seed_data, cfg)
    rejected = _rejected(out)
    assert rejected["educational_instruct/0"].startswith("decontamination:mbpp/")
    assert rejected["hq_snippets/0"].startswith("decontamination:mbpp/")
    assert result.metrics["sets"]["educational_instruct"]["rows"] == 0
    # an empty set is a warning, not an error: the stage completes and says why
    assert any("educational_instruct: no sample survived" in r.getMessage() and r.levelname == "WARNING"
               for r in caplog.records)
    assert (out / "instruct" / "educational_instruct").is_dir()


def test_openai_batch_output_is_read_through_the_requests_file(cfg, tmp_path, ctx_factory, seed_data, responses_file):
    rows = [json.loads(line) for line in responses_file.read_text().splitlines()]
    requests, outputs = tmp_path / "batch_input.jsonl", tmp_path / "batch_output.jsonl"
    with open(requests, "w") as fi, open(outputs, "w") as fo:
        for n, r in enumerate(rows):
            fi.write(json.dumps({"custom_id": f"r{n}", "method": "POST", "url": "/v1/chat/completions",
                                 "body": {"model": "m", "messages": r["messages"]}}) + "\n")
            fo.write(json.dumps({"id": f"b{n}", "custom_id": f"r{n}", "error": None, "response": {
                "status_code": 200, "body": {"choices": [{"index": 0, "message": {"role": "assistant",
                                                                                   "content": r["response"]}}]}}}) + "\n")
    result, _ = _run(tmp_path, ctx_factory, seed_data, cfg(outputs, requests=requests))
    assert result.counts.kept == 6


def test_code_seeds_come_from_the_algorithmic_corpus_first(tmp_path, seed_data):
    import pyarrow as pa

    from opc_core.dataset import ShardWriter
    from opc_synth.config import SynthConfig
    from opc_synth.synth_stage import plan

    algo = tmp_path / "algorithmic"
    schema = pa.schema([(c, pa.string()) for c in ("repo_name", "path", "content", "program_lang", "doc_type")])
    solution = ("class Solution:\n    pass\n\n\ndef two_sum(nums, target):\n    seen = {}\n    for i, x in enumerate(nums):\n"
                "        if target - x in seen:\n            return [seen[target - x], i]\n        seen[x] = i\n")
    with ShardWriter(str(algo / "kept"), schema) as w:
        w.write({"repo_name": "lc/solutions", "path": "two_sum.py", "content": solution, "program_lang": "python",
                 "doc_type": "code"})
    cfg = SynthConfig.model_validate({"teacher": {"kind": "responses", "responses_path": "x"},
                                      "seed_stages": ["algorithmic", "data"],
                                      "generators": [{"name": "hq_snippets", "count": 3}]})
    items, _ = plan(cfg, {"data": str(seed_data), "algorithmic": str(algo)}, seed=3)
    assert [x.seed.repo_name for x in items] == ["lc/solutions", "psf/requests", "psf/requests"]
    assert "def two_sum" in items[0].request.messages[0][1]


def test_exported_batch_prompts_round_trip_through_a_batch_output(cfg, tmp_path, ctx_factory, seed_data,
                                                                  responses_file):
    """Export the prompts, answer them 'elsewhere' (custom_id -> answer), import: the same samples are kept."""
    from opc_synth.batch_export import write_batch_requests

    answers = {json.dumps(r["messages"], sort_keys=True): r["response"]
               for r in map(json.loads, responses_file.read_text().splitlines())}
    requests = tmp_path / "batch_input.jsonl"
    n = write_batch_requests(cfg(responses_file), {"data": str(seed_data)}, 3, requests, model="teacher-x")
    assert n == 17
    with open(tmp_path / "batch_output.jsonl", "w") as f:
        for line in requests.read_text().splitlines():
            req = json.loads(line)
            assert req["url"] == "/v1/chat/completions" and req["body"]["model"] == "teacher-x"
            text = answers[json.dumps(req["body"]["messages"], sort_keys=True)]
            f.write(json.dumps({"custom_id": req["custom_id"], "response": {"status_code": 200, "body": {
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}}}) + "\n")
    result, _ = _run(tmp_path, ctx_factory, seed_data, cfg(tmp_path / "batch_output.jsonl", requests=requests))
    assert result.counts.kept == 6 and result.metrics["requests"]["total"] == 17


def test_near_duplicate_outputs_are_removed_by_minhash_and_distinct_ones_kept():
    """Output dedup is opc-data's exact + MinHash dedup, run inside each set; the first of a group is kept."""
    from opc_synth.config import SynthConfig
    from opc_synth.generators import Parsed
    from opc_synth.seeds import Seed
    from opc_synth.synth_stage import _dedup, _Item

    body = "\n".join(f"def step_{i}(values):\n    total = sum(v * {i} for v in values)\n    return total + {i}\n"
                     for i in range(40))
    texts = [body, body.replace("return total + 7", "return total + 8"), "def other():\n    return 'x' * 3\n" * 5]
    seed = Seed("r", "p.py", "python", "f", "")
    items = [_Item("hq_snippets", i, seed, {}, None, parsed=Parsed("python", content=t)) for i, t in enumerate(texts)]
    _dedup(SynthConfig(), items)
    assert [x.reason for x in items] == [None, "dedup:fuzzy", None]
    assert items[1].detail == "duplicate of p.py#hq_snippets/0"
