"""BigCodeBench-Hard (148 tasks, v0.1.1): realistic tasks over many third-party libraries.

Program = code (``complete_prompt`` + completion, or a chat ``solution``) + the task's ``unittest``
``TestCases`` + a runner that fails unless every test passes (BigCodeBench's own semantics: all
tests of the task must pass). The libraries live in the benchmark's own interpreter: ``python`` if given,
else the BigCodeBench virtualenv when it exists (``opc_eval.bigcodebench_env``: ``$OPC_BCB_VENV`` or
``<repo>/.cache/bigcodebench-venv``), else the current interpreter. A task whose libraries that
interpreter cannot import is reported as skipped, never as failed. Its tests import
heavy libraries (pandas, matplotlib), so the default timeout is longer than HumanEval's.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from functools import lru_cache
from typing import Any

from opc_eval.benchmarks.base import Benchmark, Program, Skip, Task

_UNITTEST_RUNNER = """

def _opc_run_bigcodebench_tests():
    import sys as _sys
    import unittest as _unittest
    _suite = _unittest.TestLoader().loadTestsFromTestCase(TestCases)
    _result = _unittest.TextTestRunner(stream=_sys.stderr, verbosity=0).run(_suite)
    if not _result.wasSuccessful():
        _bad = [t.id().split(".")[-1] for t, _ in _result.failures + _result.errors]
        raise AssertionError(f"{len(_bad)} of {_result.testsRun} tests failed: {', '.join(_bad)}")

_opc_run_bigcodebench_tests()
"""


# optional backends that pandas & co. import lazily: the task needs them though ``libs`` does not say so
IMPLIED_MODULES = {"read_excel": "openpyxl", "to_excel": "openpyxl", "ExcelWriter": "openpyxl",
                   "read_html": "lxml", "read_xml": "lxml"}


@lru_cache(maxsize=8)
def importable(python: str, modules: tuple[str, ...]) -> frozenset[str]:
    """The subset of ``modules`` that ``python`` can find (trusted probe, not run in the sandbox)."""
    code = (
        "import importlib.util, json, sys\n"
        "mods = json.loads(sys.argv[1])\n"
        "ok = []\n"
        "for m in mods:\n"
        "    try:\n"
        "        if importlib.util.find_spec(m) is not None:\n"
        "            ok.append(m)\n"
        "    except Exception:\n"
        "        pass\n"
        "print(json.dumps(ok))\n"
    )
    r = subprocess.run([python, "-c", code, json.dumps(list(modules))], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        return frozenset()
    return frozenset(json.loads(r.stdout))


def _libs(record: dict[str, Any]) -> list[str]:
    libs = record.get("libs", [])
    if isinstance(libs, str):
        libs = ast.literal_eval(libs) if libs.strip() else []
    return sorted({str(lib).split(".")[0] for lib in libs})


def _imported_modules(code: str) -> set[str]:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    mods = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            mods.add(node.module.split(".")[0])
    return mods


class BigCodeBenchHard(Benchmark):
    name = "bigcodebench-hard"
    default_timeout_s = 60.0

    def __init__(self, timeout_s: float | None = None, python: str | None = None) -> None:
        from opc_eval.bigcodebench_env import default_python

        super().__init__(timeout_s=timeout_s, python=python or default_python() or sys.executable)

    def parse(self, record: dict[str, Any]) -> Task:
        return Task(
            task_id=record["task_id"],
            prompt=record["complete_prompt"],
            instruction=record["instruct_prompt"],
            entry_point=record.get("entry_point", "task_func"),
            canonical=record.get("canonical_solution"),
            raw={**record, "libs": _libs(record)},
        )

    def required_modules(self, task: Task) -> set[str]:
        code = task.prompt + task.raw["test"] + (task.canonical or "")
        implied = {mod for marker, mod in IMPLIED_MODULES.items() if marker in code}
        return set(task.raw["libs"]) | _imported_modules(task.raw["test"]) | _imported_modules(task.prompt) | implied

    def check_program(self, task: Task, completion: str, solution: str | None = None) -> Program | Skip:
        python = self.python or sys.executable
        need = tuple(sorted(self.required_modules(task)))
        missing = sorted(set(need) - importable(python, need))
        if missing:
            return Skip(f"missing libraries in {python}: {', '.join(missing)}")
        source = self.code_of(task, completion, solution) + "\n\n" + task.raw["test"] + _UNITTEST_RUNNER
        return Program(source, self.timeout_s, python, module_name="__test__")
