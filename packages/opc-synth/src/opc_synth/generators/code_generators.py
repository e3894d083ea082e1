"""The two execution-validated generators: code with tests, kept only when the tests pass.

- ``hq_snippets`` (pretraining): a self-contained function + assert tests, seeded from a kept function
  (OpenCoder's "high-quality code snippets with test cases").
- ``educational_instruct`` (SFT): an instruction, a solution and its tests, seeded from a kept function
  (OpenCoder's Educational-Instruct); the conversation is (instruction, solution), the tests go to
  the ``tests`` column.
"""

from __future__ import annotations

from opc_synth.generators.base import Generator, Parsed, Rejected
from opc_synth.parsing import code_block, sections
from opc_synth.seeds import Seed


def _code_and_tests(answer: str, code_heading: str) -> tuple[str | None, str | None, dict[str, str]]:
    parts = sections(answer)
    return code_block(parts.get(code_heading)), code_block(parts.get("tests")), parts


class HqSnippets(Generator):
    name = "hq_snippets"
    kind = "pretrain"
    check = "exec"

    def parse(self, answer: str, seed: Seed, extras: dict[str, str]) -> Parsed | Rejected:
        code, tests, _ = _code_and_tests(answer, "code")
        if code is None:
            return Rejected("parse_error", "no ### Code section with a code block")
        if tests is None:
            return Rejected("no_test", "no ### Tests section")
        return Parsed("python", content=f"{code}\n\n\n{tests}\n", code=code, tests=tests)


class EducationalInstruct(Generator):
    name = "educational_instruct"
    kind = "instruct"
    check = "exec"

    def parse(self, answer: str, seed: Seed, extras: dict[str, str]) -> Parsed | Rejected:
        solution, tests, parts = _code_and_tests(answer, "solution")
        instruction = (parts.get("instruction") or "").strip()
        if not instruction or solution is None:
            return Rejected("parse_error", "needs ### Instruction and ### Solution")
        if tests is None:
            return Rejected("no_test", "no ### Tests section")
        messages = [{"role": "user", "content": instruction},
                    {"role": "assistant", "content": f"```python\n{solution}\n```"}]
        return Parsed("python", messages=messages, code=solution, tests=tests)
