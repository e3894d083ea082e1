"""A generator: seeds -> prompts (a template file) -> parsed samples (or a rejection reason).

    class HqSnippets(Generator):
        name = "hq_snippets"; kind = "pretrain"; check = "exec"
        def pick(self, pool, count, rng): ...        # which seeds (and drawn extras) to prompt with
        def variables(self, seed, extras): ...       # the template's $placeholders
        def parse(self, answer, seed, extras): ...   # Parsed, or Rejected(reason, detail)

Templates are ``opc_synth/templates/<name>.txt`` (``string.Template``: ``$seed_code``, so braces in
code need no escaping). ``check`` says what the stage verifies before keeping a sample: ``exec``
(code + tests run in the sandbox, see ``opc_synth.validate``) or ``syntax`` (every Python block compiles).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any, ClassVar

from opc_synth.seeds import Seed

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@dataclass
class Parsed:
    """A sample that parsed: pretraining text (``content``) or a conversation (``messages``)."""

    program_lang: str
    content: str | None = None
    messages: list[dict[str, str]] | None = None
    code: str | None = None  # check == exec: the program under test
    tests: str | None = None
    python_blocks: list[str] = field(default_factory=list)  # check == syntax: must compile

    def text(self) -> str:
        """What dedup and decontamination look at."""
        if self.content is not None:
            return self.content
        return "\n".join(m["content"] for m in self.messages or [])


@dataclass(frozen=True)
class Rejected:
    reason: str
    detail: str = ""


class SeedPool:
    """Seeds, loaded once on first use (the generators of one run share them)."""

    def __init__(self, loaders: dict[str, Any]) -> None:
        self._loaders = loaders
        self._cache: dict[str, list[Seed]] = {}

    def get(self, kind: str) -> list[Seed]:
        if kind not in self._cache:
            self._cache[kind] = self._loaders[kind]()
        return self._cache[kind]


class Generator:
    name: ClassVar[str] = ""
    kind: ClassVar[str] = "instruct"  # pretrain | instruct
    check: ClassVar[str] = "syntax"  # exec | syntax
    seed_kind: ClassVar[str] = "code"

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        self.options = options or {}
        self.template = Template((TEMPLATES / f"{self.name}.txt").read_text(encoding="utf-8"))

    def pick(self, pool: SeedPool, count: int, rng: random.Random) -> list[tuple[Seed, dict[str, str]]]:
        """The first ``count`` seeds (already in seeded order); no extras."""
        return [(s, {}) for s in pool.get(self.seed_kind)[:count]]

    def variables(self, seed: Seed, extras: dict[str, str]) -> dict[str, str]:
        return {"seed_code": seed.text, "language": seed.program_lang, **extras}

    def prompt(self, seed: Seed, extras: dict[str, str]) -> str:
        return self.template.substitute(self.variables(seed, extras)).strip() + "\n"

    def parse(self, answer: str, seed: Seed, extras: dict[str, str]) -> Parsed | Rejected:
        raise NotImplementedError


def weighted_choice(table: dict[str, float], rng: random.Random) -> str:
    names = sorted(table)
    return rng.choices(names, weights=[table[n] for n in names], k=1)[0]
