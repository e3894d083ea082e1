"""MBPP (Google): the full set (974 tasks, ``text/code/test_list``) and the sanitized split
(427 tasks, ``prompt/code/test_imports/test_list``).

Program = prompt + completion + test setup + the assert list (bigcode-evaluation-harness semantics;
the prompt is a docstring, so it changes nothing when the completion is a whole function). The
sanitized split's ``test_imports`` go first. ``challenge_test_list`` is not run (as upstream).
"""

from __future__ import annotations

import ast
import builtins
from typing import Any

from opc_eval.benchmarks.base import Benchmark, Program, Skip, Task


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return list(ast.literal_eval(value)) if value.strip() else []
    return list(value or [])


def _entry_point(tests: list[str]) -> str | None:
    for t in tests:
        try:
            tree = ast.parse(t)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not hasattr(builtins, node.func.id):
                return node.func.id
    return None


class Mbpp(Benchmark):
    name = "mbpp"

    def parse(self, record: dict[str, Any]) -> Task:
        text = record.get("text") if "text" in record else record["prompt"]
        tests = _as_list(record["test_list"])
        prompt = f'"""\n{text}\n{tests[0] if tests else ""}\n"""\n'
        instruction = (
            f"{text}\nYour code should pass these tests:\n\n" + "\n".join(tests) + "\n\n"
            "Write the function in one ```python code block."
        )
        return Task(
            task_id=str(record["task_id"]),
            prompt=prompt,
            instruction=instruction,
            entry_point=_entry_point(tests),
            canonical=record["code"],
            raw={**record, "test_list": tests, "test_imports": _as_list(record.get("test_imports", []))},
        )

    def check_program(self, task: Task, completion: str, solution: str | None = None) -> Program | Skip:
        raw = task.raw
        parts = [*raw["test_imports"], self.code_of(task, completion, solution), raw.get("test_setup_code", "")]
        parts += raw["test_list"]
        return Program("\n".join(parts) + "\n", self.timeout_s, self.python)


