"""A benchmark is a small class: load tasks, build prompts, postprocess output, build the check program.

    Benchmark.load(path)            -> list[Task]            (from the configured file, or the default)
    Benchmark.get_prompt(task, mode)-> str | list[message]   ("completion": code prefix; "chat": ChatML messages)
    Benchmark.postprocess(task, raw, mode, sanitize) -> Completion (what goes into samples.jsonl)
    Benchmark.check_program(task, completion, solution) -> Program | Skip  (run by opc_sandbox)

Generation and execution are separable (as in EvalPlus / bigcode-evaluation-harness): scoring saved
samples needs no model. Official semantics: the program is prompt + completion (verbatim) + the
benchmark's tests + the check call; the sandbox only counts it as passed when the program runs to
its end. This module does not run anything itself.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opc_core.errors import OpcError
from opc_eval.sanitize import DEFAULT_STOPS, extract_code_block, sanitize, truncate_at_stops

CHAT_SYSTEM = "You are a helpful coding assistant. Answer with a single complete Python code block."


@dataclass
class Task:
    task_id: str
    prompt: str  # completion-mode prompt (code prefix the model continues)
    instruction: str  # chat-mode instruction text
    entry_point: str | None
    canonical: str | None  # a completion known to be right (appended to ``prompt``), if the set has one
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


@dataclass
class Program:
    source: str
    timeout_s: float
    python: str | None = None
    files: dict[str, str | bytes] = field(default_factory=dict)
    module_name: str = "__opc_program__"  # the program's __name__ (never "__main__", as in the official exec)


@dataclass
class Skip:
    """A task that cannot be scored here (e.g. a library is missing): reported, never a failure."""

    reason: str


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """A benchmark's JSONL(.gz) file (``opc_core.jsonl``: the one reader), with a hint for a missing one."""
    from opc_core import storage
    from opc_core.jsonl import read_jsonl as read

    if not storage.is_remote(str(path)) and not Path(path).exists():
        raise OpcError(f"benchmark file not found: {path}", hint="pass --data PATH to the benchmark JSONL(.gz)")
    return read(path, "benchmark file")


class Benchmark(ABC):
    name: str = ""
    default_timeout_s: float = 3.0
    stops: tuple[str, ...] = DEFAULT_STOPS

    def __init__(self, timeout_s: float | None = None, python: str | None = None) -> None:
        self.timeout_s = timeout_s if timeout_s is not None else self.default_timeout_s
        self.python = python

    def default_path(self) -> str | None:
        """Where the tasks come from when no path is configured (only HumanEval has a bundled copy)."""
        return None

    @abstractmethod
    def parse(self, record: dict[str, Any]) -> Task: ...

    def load(self, path: str | None = None) -> list[Task]:
        path = path or self.default_path()
        if not path:
            raise OpcError(f"benchmark {self.name!r} has no bundled data", hint="pass --data PATH (JSONL or .jsonl.gz)")
        records = read_jsonl(path)
        tasks = []
        for i, rec in enumerate(records, 1):
            try:
                tasks.append(self.parse(rec))
            except (KeyError, TypeError, ValueError) as e:
                raise OpcError(f"record {i} does not look like {self.name}: missing/bad field {e}", where=path) from e
        return tasks

    def get_prompt(self, task: Task, mode: str) -> str | list[dict[str, str]]:
        if mode == "completion":
            return task.prompt
        return [{"role": "system", "content": CHAT_SYSTEM}, {"role": "user", "content": task.instruction}]

    def postprocess(self, task: Task, raw: str, mode: str, do_sanitize: bool = False) -> dict[str, str]:
        """What a sample stores: ``completion`` (appended to the prompt) and, in chat mode, ``solution``."""
        if mode == "completion":
            text = truncate_at_stops(raw, self.stops)
            return {"completion": text}
        code = extract_code_block(raw)
        if do_sanitize:
            code = sanitize(code, task.entry_point)
        return {"completion": code, "solution": code}

    @abstractmethod
    def check_program(self, task: Task, completion: str, solution: str | None = None) -> Program | Skip: ...

    def code_of(self, task: Task, completion: str, solution: str | None) -> str:
        """The candidate code: a chat ``solution`` stands alone; a completion follows its prompt."""
        return solution if solution is not None else task.prompt + completion
