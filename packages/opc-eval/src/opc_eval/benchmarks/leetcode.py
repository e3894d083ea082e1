"""LeetCode contest problems after 2024-01-21 (OpenCodeEval's contamination-free set, ~180 tasks).

Each task gives a docstring + ``class Solution`` header as ``prompt``, a chat instruction as
``prompt_sft`` and assert-based ``test`` code that instantiates ``Solution``. The program is
imports header + prompt + completion + test (the header supplies ``List``, ``collections`` etc., as
LeetCode's own environment does). The set has no canonical solutions.
"""

from __future__ import annotations

import re
from typing import Any

from opc_eval.benchmarks.base import Benchmark, Program, Skip, Task

IMPORT_HEADER = (
    "from typing import *\nfrom collections import *\nfrom functools import *\nfrom itertools import *\n"
    "from heapq import *\nfrom bisect import *\nfrom math import *\nimport math, heapq, bisect, collections, "
    "itertools, functools, string, re, operator\n"
)


class LeetCode(Benchmark):
    name = "leetcode"
    stops = ("\nclass ", "\nif __name__", "\nprint(", "\n#", "\nassert ", "\nmy_solution", "\n```")

    def parse(self, record: dict[str, Any]) -> Task:
        m = re.search(r"def (\w+)\(self", record["prompt"])
        return Task(
            task_id=record["task_id"],
            prompt=record["prompt"],
            instruction=record.get("prompt_sft") or record["prompt"],
            entry_point=m.group(1) if m else None,
            canonical=None,
            raw=record,
        )

    def code_of(self, task: Task, completion: str, solution: str | None) -> str:
        return IMPORT_HEADER + super().code_of(task, completion, solution)

    def check_program(self, task: Task, completion: str, solution: str | None = None) -> Program | Skip:
        source = self.code_of(task, completion, solution) + "\n" + task.raw["test"] + "\n"
        return Program(source, self.timeout_s, self.python)
