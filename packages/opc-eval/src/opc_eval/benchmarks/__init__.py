"""The benchmarks, by the names the CLI and recipes use."""

from __future__ import annotations

from opc_core.errors import OpcError
from opc_eval.benchmarks.base import Benchmark, Program, Skip, Task
from opc_eval.benchmarks.bigcodebench import BigCodeBenchHard
from opc_eval.benchmarks.humaneval import HumanEval
from opc_eval.benchmarks.leetcode import LeetCode
from opc_eval.benchmarks.mbpp import Mbpp
from opc_eval.benchmarks.mbppplus import HumanEvalPlus, MbppPlus

BENCHMARKS: dict[str, type[Benchmark]] = {
    "humaneval": HumanEval,
    "mbpp": Mbpp,
    "mbppplus": MbppPlus,
    "leetcode": LeetCode,
    "bigcodebench-hard": BigCodeBenchHard,
    "humanevalplus": HumanEvalPlus,
}


def get_benchmark(name: str, timeout_s: float | None = None, python: str | None = None) -> Benchmark:
    try:
        cls = BENCHMARKS[name]
    except KeyError:
        raise OpcError(f"unknown benchmark {name!r}", hint=f"choose one of: {', '.join(BENCHMARKS)}") from None
    return cls(timeout_s=timeout_s, python=python)


__all__ = ["BENCHMARKS", "Benchmark", "Program", "Skip", "Task", "get_benchmark"]
