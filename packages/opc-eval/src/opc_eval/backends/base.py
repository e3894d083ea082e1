"""One interface for every way of getting completions: ``Backend.complete`` and ``Backend.chat``.

    backend = make_backend(BackendConfig(kind="local", ...), ctx)     # local | hf | openai | vllm
    backend.complete(["def f():\\n"], GenParams(max_new_tokens=128, n=1))   -> [["    return 1\\n"]]
    backend.chat([[{"role": "user", "content": "..."}]], GenParams(...))   -> [["```python ...```"]]

Each call returns, per prompt, ``n`` raw texts (the newly generated part only). Stop sequences,
code-block extraction and sanitisation are the benchmark's job (``Benchmark.postprocess``), so every
backend is scored the same way. Backends own their resources (a model in memory, a server
subprocess): use them as context managers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field


@dataclass(frozen=True)
class GenParams:
    max_new_tokens: int = 512
    temperature: float = 0.0
    top_p: float = 1.0
    n: int = 1
    seed: int = 0
    stop: tuple[str, ...] = field(default_factory=tuple)


class Backend(ABC):
    name: str = ""

    @abstractmethod
    def complete(self, prompts: list[str], params: GenParams) -> list[list[str]]:
        """Continue each prompt ``params.n`` times; returns only the generated text."""

    def chat(self, conversations: list[list[dict[str, str]]], params: GenParams) -> list[list[str]]:
        """Answer each conversation; default: render ChatML and continue it (models without a server)."""
        from opc_core.chat_template import render_chat

        return self.complete([render_chat(c, add_generation_prompt=True) for c in conversations], params)

    def close(self) -> None:  # noqa: B027 - most backends hold nothing to release
        """Release what the backend holds (memory, subprocesses)."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()



