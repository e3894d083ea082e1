"""The execution check: does ``code`` followed by ``tests`` run to its end in the sandbox?

Where it sits: every generator of the ``synth`` stage that produces code, and ``opc synth validate``
(the same check alone, on a JSONL of samples). One program per sample,

    program = code + "\\n\\n" + tests          (tests: assert statements, run in the same namespace)

run by ``opc_sandbox.run_many`` with the eval sandbox's limits. The verdict is the sandbox's: a sample
passes only when the sandbox driver reached the end of the program and wrote this run's random nonce to
its separate report pipe (``opc_sandbox.sandbox``). So ``sys.exit(0)``, ``os._exit(0)``, a signal, a
hang past the timeout or printing "passed"/"OK" are all failures; the exit code and stdout are never
read for the verdict. A sample that finishes just inside the timeout is the only timing-dependent case
(choose the timeout well above the samples' run time).

Statuses (``Verdict.status``) and the failure reasons the synth funnel counts (``Verdict.reason``):

    passed                                   reason: passed
    failed   ran, did not reach the end      reason: test_failed
    timeout  still running at the deadline   reason: timeout
    error    not runnable: no test, a syntax error, a malformed row
             reason: no_test | syntax_error | malformed

What it does NOT do: judge whether the tests are any good (an ``assert True`` passes), or protect
against a program written to read the nonce from the driver's frames (see opc_sandbox's docstring).
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass

from opc_sandbox import Job, Limits, run_many

DEFAULT_TIMEOUT_S = 3.0
DETAIL_CHARS = 200


@dataclass(frozen=True)
class Sample:
    """One thing to check: an id, the code and its tests (both Python source)."""

    id: str
    code: str | None
    tests: str | None


@dataclass(frozen=True)
class Verdict:
    id: str
    passed: bool
    status: str  # passed | failed | timeout | error
    reason: str  # passed | test_failed | timeout | no_test | syntax_error | malformed
    detail: str = ""


def _short(text: str) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= DETAIL_CHARS else text[: DETAIL_CHARS - 3] + "..."


def has_test(tests: str) -> bool:
    """True when ``tests`` holds at least one statement that can fail (an assert, a call, a raise...).

    Comments, docstrings, ``pass`` and bare constants do not count: such a "test" always passes.
    """
    try:
        tree = ast.parse(tests)
    except SyntaxError:
        return True  # a syntax error is reported as such, not as "no test"
    for node in tree.body:
        if isinstance(node, ast.Pass):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue
        return True
    return False


def precheck(sample: Sample) -> Verdict | None:
    """The verdict for a sample that cannot run (no test, syntax error, malformed), else None."""
    if not isinstance(sample.code, str) or not isinstance(sample.tests, str):
        return Verdict(sample.id, False, "error", "malformed", "code and tests must both be strings")
    if not sample.tests.strip() or not has_test(sample.tests):
        return Verdict(sample.id, False, "error", "no_test", "no test statement")
    for part, text in (("code", sample.code), ("tests", sample.tests), ("program", program_source(sample))):
        try:
            compile(text, f"<{part}>", "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as e:  # ValueError: NUL bytes in the source
            line = getattr(e, "lineno", None)
            where = f" at line {line}" if line else ""
            return Verdict(sample.id, False, "error", "syntax_error",
                           _short(f"syntax error in {part}{where}: {getattr(e, 'msg', e)}"))
    return None


def program_source(sample: Sample) -> str:
    return f"{sample.code}\n\n{sample.tests}\n"


def validate(
    samples: Sequence[Sample],
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    workers: int | None = None,
    limits: Limits | None = None,
) -> list[Verdict]:
    """One verdict per sample, in input order; runnable samples go through the sandbox pool."""
    verdicts: list[Verdict | None] = [precheck(s) for s in samples]
    todo = [i for i, v in enumerate(verdicts) if v is None]
    if todo:
        results = run_many([Job(program_source(samples[i])) for i in todo], workers=workers, timeout_s=timeout_s,
                           limits=limits or Limits(timeout_s=timeout_s))
        for i, r in zip(todo, results, strict=True):
            sid = samples[i].id
            if r.passed:
                verdicts[i] = Verdict(sid, True, "passed", "passed")
            elif r.status == "timed out":
                verdicts[i] = Verdict(sid, False, "timeout", "timeout", f"did not finish within {timeout_s:g} s")
            else:
                verdicts[i] = Verdict(sid, False, "failed", "test_failed", _short(r.detail or "did not finish"))
    return [v for v in verdicts if v is not None]
