"""The passing path end to end with a ``responses`` teacher built from real, known-correct solutions
(MBPP code + tests, a HumanEval canonical solution) and deliberately wrong ones: only samples whose
tests pass are kept; a failing, hanging, exiting or pass-printing sample is rejected with its reason;
duplicates are removed; benchmark solutions are decontaminated; the output is byte-identical on a rerun.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

COUNTS = {"hq_snippets": 3, "educational_instruct": 8, "textbooks": 2, "package_instruct": 2, "diverse_instruct": 2}


def _cfg(responses: Path, mbpp_decontam: str | None = None, requests: Path | None = None):
    from opc_synth.config import SynthConfig

    benchmarks = [{"name": "humaneval", "uri": "builtin:humaneval"}]
    if mbpp_decontam:
        benchmarks.append({"name": "mbpp", "uri": mbpp_decontam})
    return SynthConfig.model_validate({
        "teacher": {"kind": "responses", "responses_path": str(responses),
                    "requests_path": str(requests) if requests else None},
        "generators": [{"name": n, "count": c, **({"distributions": ["six"]} if n == "package_instruct" else {})}
                       for n, c in COUNTS.items()],
        "exec": {"timeout_s": 2.0, "workers": 2},
        "dedup": {"num_perm": 128, "bands": 16, "rows": 8},
        "decontamination": {"benchmarks": benchmarks},
    })


def _code_answer(code: str, tests: str, heading: str = "Code", instruction: str | None = None) -> str:
    head = f"### Instruction\n{instruction}\n" if instruction else ""
    return f"{head}### {heading}\n```python\n{code}\n```\n### Tests\n```python\n{tests}\n```\n"


def _answers(items, eval_dir: Path) -> dict[str, str]:
    mbpp = [json.loads(line) for line in gzip.open(eval_dir / "mbpp.jsonl.gz", "rt")]
    he = {r["task_id"]: r for r in (json.loads(line) for line in gzip.open(eval_dir / "HumanEval.jsonl.gz", "rt"))}
    m = {t["task_id"]: t for t in mbpp}
    good = [m[2], m[3], m[4]]  # similar_elements, is_not_prime, heap_queue_largest (real MBPP code + tests)

    def mb(t):
        return t["code"].replace("\r\n", "\n"), "\n".join(t["test_list"])

    h2 = he["HumanEval/2"]
    out: dict[str, str] = {}
    for x in items:
        i = x.index
        if x.set == "hq_snippets":
            code, tests = mb(good[0])
            out[x.request.id] = [_code_answer(code, tests),
                                 "### Code\n```python\ndef f(:\n    pass\n```\n### Tests\n```python\nassert f()\n```\n",
                                 "### Code\n```python\ndef g():\n    return 1\n```\n"][i]
        elif x.set == "educational_instruct":
            c1, t1 = mb(good[1])
            c2, t2 = mb(good[2])
            answers = [
                _code_answer(c1, t1, "Solution", good[1]["text"]),                                # passes
                _code_answer(c2, t2, "Solution", good[2]["text"]),                                # passes
                _code_answer(c1.replace("result = True", "result = False"), t1, "Solution", "wrong"),  # fails
                _code_answer("def f():\n    while True:\n        pass", "f()", "Solution", "hangs"),  # timeout
                _code_answer(c2, "import os\nos._exit(0)\n" + t2, "Solution", "exits early"),      # os._exit
                _code_answer(c2, "print('passed')\nraise SystemExit(0)", "Solution", "fake pass"),  # prints marker
                _code_answer(c1, t1, "Solution", good[1]["text"]),                                # exact duplicate of 0
                _code_answer(h2["prompt"] + h2["canonical_solution"], h2["test"] + "\ncheck(truncate_number)",
                             "Solution", "Return the decimal part of a number."),                 # HumanEval: decontam
            ]
            out[x.request.id] = answers[i]
        elif x.set == "textbooks":
            out[x.request.id] = ["### Title\nSplitting strings\n### Passage\nUse str.split to cut text.\n"
                                 "```python\nparts = 'a,b'.split(',')\nprint(parts)\n```\nIt returns a list.\n",
                                 "### Title\nNo code\n### Passage\nThis passage forgot its example entirely.\n"][i]
        elif x.set == "package_instruct":
            api = x.seed.name.rsplit(".", 1)[-1]
            out[x.request.id] = [f"### Question\nHow do I use {api}?\n### Answer\nCall `{api}` like this:\n"
                                 f"```python\nimport six\nprint(six.{api})\n```\n",
                                 "### Question\nWhat is six?\n### Answer\nA compatibility library.\n"][i]
        else:
            out[x.request.id] = ["### Instruction\nWrite a function that doubles a number.\n### Response\n"
                                 "```python\ndef double(x):\n    return 2 * x\n```\n",
                                 "### Instruction\nDouble a number in JS.\n### Response\n```javascript\n"
                                 "const d = x => 2 * x;\n```\n"][i]
    return out


@pytest.fixture(scope="module")
def responses_file(seed_data, shared_dir, tmp_path_factory) -> Path:
    from opc_synth.synth_stage import plan

    items, _ = plan(_cfg(Path("unused")), str(seed_data), seed=3)
    assert [sum(x.set == n for x in items) for n in COUNTS] == list(COUNTS.values())
    answers = _answers(items, shared_dir / "data" / "eval")
    path = tmp_path_factory.mktemp("responses") / "answers.jsonl"
    with open(path, "w") as f:
        for x in items:
            f.write(json.dumps({"messages": x.request.as_messages(), "response": answers[x.request.id]}) + "\n")
    return path


def _run(tmp_path, ctx_factory, seed_data, cfg):
    from opc_synth.synth_stage import STAGE

    ctx = ctx_factory(tmp_path, seed_data)
    return STAGE.run(cfg, ctx), Path(ctx.output_uri)


def _rejected(out: Path) -> dict[str, str]:
    rows = pq.read_table(sorted((out / "rejected").glob("part-*.parquet"))).to_pylist()
    return {r["path"].rsplit("#", 1)[1]: r["reason"] for r in rows}


def test_only_samples_whose_tests_pass_are_kept_and_every_rejection_has_its_reason(tmp_path, ctx_factory, seed_data,
                                                                                   responses_file):
    result, out = _run(tmp_path, ctx_factory, seed_data, _cfg(responses_file))
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


def test_rerun_gives_byte_identical_output(tmp_path, ctx_factory, seed_data, responses_file):
    _, a = _run(tmp_path / "a", ctx_factory, seed_data, _cfg(responses_file))
    _, b = _run(tmp_path / "b", ctx_factory, seed_data, _cfg(responses_file))
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files and files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)


def test_decontamination_against_mbpp_removes_the_mbpp_derived_samples(tmp_path, ctx_factory, seed_data,
                                                                      responses_file, shared_dir):
    cfg = _cfg(responses_file, mbpp_decontam=str(shared_dir / "data" / "eval" / "mbpp.jsonl.gz"))
    result, out = _run(tmp_path, ctx_factory, seed_data, cfg)
    rejected = _rejected(out)
    assert rejected["educational_instruct/0"].startswith("decontamination:mbpp/")
    assert rejected["hq_snippets/0"].startswith("decontamination:mbpp/")
    assert result.metrics["sets"]["educational_instruct"]["rows"] == 0


def test_openai_batch_output_is_read_through_the_requests_file(tmp_path, ctx_factory, seed_data, responses_file):
    rows = [json.loads(line) for line in responses_file.read_text().splitlines()]
    requests, outputs = tmp_path / "batch_input.jsonl", tmp_path / "batch_output.jsonl"
    with open(requests, "w") as fi, open(outputs, "w") as fo:
        for n, r in enumerate(rows):
            fi.write(json.dumps({"custom_id": f"r{n}", "method": "POST", "url": "/v1/chat/completions",
                                 "body": {"model": "m", "messages": r["messages"]}}) + "\n")
            fo.write(json.dumps({"id": f"b{n}", "custom_id": f"r{n}", "error": None, "response": {
                "status_code": 200, "body": {"choices": [{"index": 0, "message": {"role": "assistant",
                                                                                   "content": r["response"]}}]}}}) + "\n")
    result, _ = _run(tmp_path, ctx_factory, seed_data, _cfg(outputs, requests=requests))
    assert result.counts.kept == 6
