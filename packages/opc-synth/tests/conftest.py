"""Fixtures of the opc-synth tests: a real data-stage-shaped input (kept/ of real Python files), a stage
context to run the stages on it directly (the same function ``opc run`` calls), and a responses file
answering the planned prompts with real MBPP/HumanEval solutions and deliberately wrong ones."""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path

import pyarrow as pa
import pytest

from opc_core.dataset import ShardWriter
from opc_core.manifest import Manifest
from opc_core.stage import StageContext

SEED_REPOS = ("psf/requests",)


@pytest.fixture(scope="session")
def seed_data(shared_dir: Path, tmp_path_factory) -> Path:
    """A data-stage output: kept/ with real Python files of psf/requests from the shared dev set."""
    out = tmp_path_factory.mktemp("data-out")
    schema = pa.schema([(c, pa.string()) for c in ("repo_name", "path", "content", "program_lang", "doc_type")])
    rows = []
    with gzip.open(shared_dir / "data" / "raw_code" / "dev.jsonl.gz", "rt") as f:
        for line in f:
            r = json.loads(line)
            if r["repo_name"] in SEED_REPOS and r["path"].startswith("src/requests/") and r["path"].endswith(".py"):
                rows.append({"repo_name": r["repo_name"], "path": r["path"], "content": r["content"],
                             "program_lang": "python", "doc_type": "code"})
    with ShardWriter(str(out / "kept"), schema) as w:
        w.write_many(rows)
    return out


def make_ctx(tmp_path: Path, data_dir: Path, stage: str = "synth", seed: int = 3) -> StageContext:
    out = tmp_path / stage / "key"
    out.mkdir(parents=True, exist_ok=True)
    scratch = tmp_path / f"scratch-{stage}"
    scratch.mkdir(exist_ok=True)
    data = Manifest(stage="data", key="k", uri=str(data_dir), fingerprint="fp-data", code_version="c", created="t")
    return StageContext(stage=stage, key="key", output_uri=str(out), workdir=str(tmp_path), seed=seed,
                        recipe_name="test", recipe={}, inputs={"data": data}, scratch=scratch,
                        log=logging.getLogger(f"opc.{stage}"))


@pytest.fixture
def ctx_factory():
    return make_ctx


COUNTS = {"hq_snippets": 3, "educational_instruct": 8, "textbooks": 2, "package_instruct": 2, "diverse_instruct": 2}


def _responses_cfg(responses: Path, mbpp_decontam: str | None = None, requests: Path | None = None):
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


@pytest.fixture(scope="session")
def responses_file(seed_data, shared_dir, tmp_path_factory) -> Path:
    from opc_synth.synth_stage import plan

    items, _ = plan(_responses_cfg(Path("unused")), str(seed_data), seed=3)
    assert [sum(x.set == n for x in items) for n in COUNTS] == list(COUNTS.values())
    answers = _answers(items, shared_dir / "data" / "eval")
    path = tmp_path_factory.mktemp("responses") / "answers.jsonl"
    with open(path, "w") as f:
        for x in items:
            f.write(json.dumps({"messages": x.request.as_messages(), "response": answers[x.request.id]}) + "\n")
    return path




@pytest.fixture(scope="session")
def responses_cfg():
    """Build the synth config of the responses-teacher tests: cfg(responses_path, mbpp_decontam=None, requests=None)."""
    return _responses_cfg
