"""``opc synth validate``: a sample passes only when its program runs to its end with every test passing.

Each test row attacks one way of faking a pass (the verdict is the sandbox's nonce, never the exit code
or stdout); the command is run as users and outside checks run it, as a subprocess.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

OPC = str(Path(sys.executable).with_name("opc"))

ROWS = [
    ("ok", "def add(a, b):\n    return a + b\n", "assert add(2, 3) == 5\nassert add(-1, 1) == 0\n", "passed"),
    ("wrong_answer", "def add(a, b):\n    return a - b\n", "assert add(2, 3) == 5\n", "failed"),
    ("raises", "def f():\n    raise ValueError('boom')\n", "f()\n", "failed"),
    ("os_exit_zero", "import os\ndef f():\n    return 1\n", "os._exit(0)\nassert f() == 2\n", "failed"),
    ("sys_exit_zero", "import sys\n", "sys.exit(0)\nassert False\n", "failed"),
    ("prints_pass_marker", "print('passed')\nprint('All tests passed. OK')\n", "import os\nos._exit(0)\n", "failed"),
    ("kills_itself", "import os, signal\n", "os.kill(os.getpid(), signal.SIGKILL)\n", "failed"),
    ("hangs", "def f():\n    while True:\n        pass\n", "f()\n", "timeout"),
    ("sleeps", "import time\n", "time.sleep(30)\n", "timeout"),
    ("syntax_error", "def f(:\n    pass\n", "assert f()\n", "error"),
    ("no_test", "def f():\n    return 1\n", "# TODO: tests\n", "error"),
    ("closes_stdout", "import sys\nsys.stdout.close()\n", "assert True\n", "passed"),
]


@pytest.fixture(scope="module")
def validated(tmp_path_factory) -> tuple[Path, list[dict]]:
    d = tmp_path_factory.mktemp("validate")
    src = d / "samples.jsonl"
    src.write_text("".join(json.dumps({"id": i, "code": c, "tests": t}) + "\n" for i, c, t, _ in ROWS))
    out = d / "out"
    r = subprocess.run([OPC, "synth", "validate", "--input", str(src), "--output", str(out), "--timeout", "2",
                        "--workers", "2"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    table = pq.read_table(sorted(out.glob("part-*.parquet")))
    return out, table.to_pylist()


def test_each_way_of_faking_a_pass_is_a_failure(validated):
    _, rows = validated
    got = {r["id"]: r["status"] for r in rows}
    assert got == {i: status for i, _, _, status in ROWS}
    assert all(r["passed"] == (r["status"] == "passed") for r in rows)


def test_output_dir_holds_only_shards_and_underscore_metadata(validated):
    out, rows = validated
    assert [r["id"] for r in rows] == [i for i, *_ in ROWS]  # input order
    for p in out.iterdir():
        assert p.name.startswith("part-") and p.suffix == ".parquet" or p.name.startswith("_"), p.name
    schema = pq.read_schema(next(out.glob("part-*.parquet")))
    assert [(f.name, str(f.type)) for f in schema] == [("id", "string"), ("passed", "bool"), ("status", "string"),
                                                        ("detail", "string")]
    summary = json.loads((out / "_SUMMARY.json").read_text())
    assert summary["samples"] == len(ROWS) and summary["reasons"]["no_test"] == 1
    assert all(len(r["detail"]) <= 200 for r in rows)


def test_a_line_without_an_id_is_a_one_line_error_naming_the_line(tmp_path):
    src = tmp_path / "bad.jsonl"
    src.write_text(json.dumps({"id": "a", "code": "x=1", "tests": "assert x"}) + "\n" + json.dumps({"code": "x"}) + "\n")
    r = subprocess.run([OPC, "synth", "validate", "--input", str(src), "--output", str(tmp_path / "o")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "line 2 has no string `id`" in r.stderr


def test_missing_code_or_tests_is_an_error_row_not_a_crash():
    from opc_synth.validate import Sample, validate

    [v] = validate([Sample("x", None, "assert True")])
    assert (v.passed, v.status, v.reason) == (False, "error", "malformed")


def test_an_output_dir_with_other_files_is_refused(tmp_path):
    src = tmp_path / "s.jsonl"
    src.write_text(json.dumps({"id": "a", "code": "x = 1", "tests": "assert x == 1"}) + "\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    r = subprocess.run([OPC, "synth", "validate", "--input", str(src), "--output", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "holds other files" in r.stderr and (out / "notes.txt").exists()
