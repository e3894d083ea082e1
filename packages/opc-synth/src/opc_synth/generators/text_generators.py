"""The generators whose answers are checked by format and syntax, not run.

- ``textbooks`` (pretraining): an explanation + code "textbook" passage on a topic of the kept corpus
  (a function's name and what it does); kept when it has a title, a code block, and its Python compiles.
- ``package_instruct`` (SFT): a question and an answer grounded in an installed package's documentation
  (a docstring of its public API); the answer must quote the API it uses (its name) and its Python compile.
- ``diverse_instruct`` (SFT): an instruction/response pair from a kept code file, the language and task
  type drawn from the recipe's distribution; the response's code blocks must be in that language (and
  compile, for Python).

Their code is not executed: they carry no tests (OpenCoder ran the code that claims tests). Packages'
answers would also need the network or the package's state to run.
"""

from __future__ import annotations

import random

from opc_synth.generators.base import Generator, Parsed, Rejected, SeedPool, weighted_choice
from opc_synth.parsing import fenced_blocks, sections
from opc_synth.seeds import Seed

LANG_TAGS = {"python": {"python", "py", "python3"}, "javascript": {"javascript", "js"}, "typescript": {"typescript", "ts"},
             "java": {"java"}, "c": {"c"}, "cpp": {"cpp", "c++"}, "go": {"go", "golang"}, "rust": {"rust", "rs"},
             "shell": {"bash", "sh", "shell"}}


def _python_blocks(text: str) -> list[str]:
    return [code for tag, code in fenced_blocks(text) if tag in ("python", "py", "python3")]


class Textbooks(Generator):
    name = "textbooks"
    kind = "pretrain"
    check = "syntax"

    def variables(self, seed: Seed, extras: dict[str, str]) -> dict[str, str]:
        first_doc = ""
        for line in seed.text.splitlines()[1:]:
            s = line.strip().strip("\"'").strip()
            if s:
                first_doc = s
                break
        topic = f"{seed.name.replace('_', ' ')}: {first_doc}" if seed.name else seed.path
        return {"topic": topic, "language": seed.program_lang}

    def parse(self, answer: str, seed: Seed, extras: dict[str, str]) -> Parsed | Rejected:
        parts = sections(answer)
        title = (parts.get("title") or "").strip().splitlines()
        body = (parts.get("passage") or "").strip()
        if not title or not body:
            return Rejected("parse_error", "needs ### Title and ### Passage")
        if not fenced_blocks(body):
            return Rejected("format", "the passage has no code block")
        content = f"# {title[0].strip()}\n\n{body}\n"
        return Parsed(seed.program_lang, content=content, python_blocks=_python_blocks(body))


class PackageInstruct(Generator):
    name = "package_instruct"
    kind = "instruct"
    check = "syntax"
    seed_kind = "docs"

    def variables(self, seed: Seed, extras: dict[str, str]) -> dict[str, str]:
        return {"package": seed.repo_name, "api": seed.name, "signature": seed.signature, "doc": seed.text}

    def parse(self, answer: str, seed: Seed, extras: dict[str, str]) -> Parsed | Rejected:
        parts = sections(answer)
        question, reply = (parts.get("question") or "").strip(), (parts.get("answer") or "").strip()
        if not question or not reply:
            return Rejected("parse_error", "needs ### Question and ### Answer")
        short = seed.name.rsplit(".", 1)[-1]
        if short not in reply:
            return Rejected("api_not_quoted", f"the answer does not use {seed.name}")
        messages = [{"role": "user", "content": question}, {"role": "assistant", "content": reply}]
        return Parsed("python", messages=messages, python_blocks=_python_blocks(reply))


class DiverseInstruct(Generator):
    name = "diverse_instruct"
    kind = "instruct"
    check = "syntax"
    seed_kind = "files"

    def pick(self, pool: SeedPool, count: int, rng: random.Random) -> list[tuple[Seed, dict[str, str]]]:
        langs = self.options["languages"]
        tasks = self.options["task_types"]
        return [(s, {"language": weighted_choice(langs, rng), "task_type": weighted_choice(tasks, rng)})
                for s in pool.get("files")[:count]]

    def variables(self, seed: Seed, extras: dict[str, str]) -> dict[str, str]:
        return {"seed_code": seed.text, "seed_language": seed.program_lang, **extras}

    def parse(self, answer: str, seed: Seed, extras: dict[str, str]) -> Parsed | Rejected:
        parts = sections(answer)
        instruction, reply = (parts.get("instruction") or "").strip(), (parts.get("response") or "").strip()
        if not instruction or not reply:
            return Rejected("parse_error", "needs ### Instruction and ### Response")
        lang = extras["language"]
        wanted = LANG_TAGS.get(lang, {lang})
        off = sorted({tag for tag, _ in fenced_blocks(reply) if tag and tag not in wanted})
        if off:
            return Rejected("language_mismatch", f"asked for {lang}, got {', '.join(off)}")
        messages = [{"role": "user", "content": instruction}, {"role": "assistant", "content": reply}]
        return Parsed(lang, messages=messages, python_blocks=_python_blocks(reply) if lang == "python" else [])
