"""MBPP+ (EvalPlus v0.1.0, 399 tasks): the base tests plus many generated inputs, compared
against the canonical solution's outputs, with ``atol`` for floats and per-input time limits.

EvalPlus semantics, re-implemented (our own code): inputs are JSON with task-specific type repair
(``deserialize_inputs``: tuples, sets, complex numbers that JSON cannot hold); the expected output is
the canonical solution's (computed first, inside the same sandbox, on deep copies); each candidate call
gets ``max(1.0 s, 4 x canonical time)``; floats (or lists of floats) compare with ``atol`` (1e-6 when the
set says 0) and rtol 1e-7; the special oracles for ``are_equivalent``, ``sum_div`` and the "output is
not None" tasks apply. A sample passes when every base and plus input is right. HumanEval+ files in the
same format load here too (``find_zero`` is checked by its polynomial).
"""

from __future__ import annotations

from typing import Any

from opc_eval.benchmarks.base import Benchmark, Program, Skip, Task

MIN_TIME_LIMIT_S = 1.0
TIME_LIMIT_FACTOR = 4.0

TUPLE_ARGS = {2, 116, 132, 143, 222, 261, 273, 394, 399, 421, 424, 429, 470, 560, 579, 596, 616, 630, 726, 740,
              744, 809}
NESTED_TUPLE_ARGS = {63, 64, 70, 94, 120, 237, 272, 299, 400, 409, 417, 438, 473, 614, 780}
FIRST_ARG_TUPLE_LIST = {75, 413, 444, 753}
FIRST_ARG_TUPLE = {250, 405, 446, 617, 720, 763, 808}
NESTED_THEN_TUPLE = {259, 401, 445}
ALL_TUPLES = {580, 615, 791}


def _all_tuples(x: Any) -> Any:
    return tuple(_all_tuples(i) for i in x) if isinstance(x, list) else x


def deserialize_inputs(task_id: str, inputs: list) -> list:
    """Restore the Python types JSON flattened, per MBPP+ task (as EvalPlus does when it loads)."""
    if not task_id.startswith("Mbpp/"):
        return inputs
    n = int(task_id.split("/")[-1])
    if n in TUPLE_ARGS:
        return [[tuple(a) for a in inp] for inp in inputs]
    if n in NESTED_TUPLE_ARGS or n in NESTED_THEN_TUPLE:
        out = [[[tuple(x) for x in a] for a in inp] for inp in inputs]
        return [[tuple(a) for a in inp] for inp in out] if n in NESTED_THEN_TUPLE else out
    if n in FIRST_ARG_TUPLE_LIST:
        return [[[tuple(x) for x in inp[0]]] + [inp[1]] for inp in inputs]
    if n in (106, 750):
        return [[inp[0]] + [tuple(inp[1])] for inp in inputs]
    if n == 115:
        return [[[set(x) if isinstance(x, list) and len(x) else {} for x in inp[0]]] for inp in inputs]
    if n == 124:
        return [(float(inp[0]), complex(inp[1])) for inp in inputs]
    if n in FIRST_ARG_TUPLE:
        return [[tuple(inp[0])] + [inp[1]] for inp in inputs]
    if n == 278:
        out = [[[tuple(x) if isinstance(x, list) else x for x in inp[0]]] for inp in inputs]
        return [[tuple(a) for a in inp] for inp in out]
    if n == 307:
        return [[tuple(inp[0])] + [inp[1], inp[2]] for inp in inputs]
    if n == 722:
        return [[{k: tuple(v) for k, v in inp[0].items()}] + inp[1:] for inp in inputs]
    if n == 252:
        return [[complex(inp[0])] for inp in inputs]
    if n in ALL_TUPLES:
        return [_all_tuples(inp) for inp in inputs]
    return inputs


# Runs inside the sandbox. Everything it needs comes from the files written next to it.
_RUNNER = r'''
import copy, json, math, pickle, signal, time

with open("_plus_spec.pkl", "rb") as _f:
    _SPEC = pickle.load(_f)

_NOT_NONE = ("check_str", "text_match_three", "text_starta_endb")

class _TimeLimit(Exception):
    pass

def _alarm(signum, frame):
    raise _TimeLimit()

def _is_floats(x):
    if isinstance(x, float):
        return True
    if isinstance(x, (list, tuple)):
        return all(isinstance(i, float) for i in x)
    try:
        import numpy as np
        if isinstance(x, np.ndarray):
            return x.dtype in (np.float64, np.float32)
    except ImportError:
        pass
    return False

def _allclose(out, exp, atol):
    try:
        import numpy as np
        np.testing.assert_allclose(out, exp, rtol=1e-07, atol=atol)
        return True
    except ImportError:
        pass
    except Exception:
        return False
    a = list(out) if isinstance(out, (list, tuple)) else [out]
    b = list(exp) if isinstance(exp, (list, tuple)) else [exp]
    return len(a) == len(b) and all(abs(x - y) <= atol + 1e-07 * abs(y) for x, y in zip(a, b))

def _poly(xs, x):
    return sum(c * math.pow(x, i) for i, c in enumerate(xs))

def _run(code, entry, inputs, limits=None):
    ns = {"__name__": "__opc_program__"}
    exec(compile(code, "<solution>", "exec"), ns)
    fn = ns[entry]
    outs, times = [], []
    signal.signal(signal.SIGALRM, _alarm)
    for i, inp in enumerate(inputs):
        args = copy.deepcopy(inp)
        if limits is not None:
            signal.setitimer(signal.ITIMER_REAL, limits[i])
        t0 = time.perf_counter()
        try:
            outs.append(fn(*args))
        except _TimeLimit:
            raise AssertionError(f"input #{i} exceeded its time limit of {limits[i]:.2f}s") from None
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        times.append(time.perf_counter() - t0)
        if limits is not None:
            _check(i, outs[-1], _EXPECTED[i], inp)
    return outs, times

def _check(i, out, exp, inp):
    entry, atol = _SPEC["entry_point"], _SPEC["atol"]
    exact = out == exp
    if entry == "are_equivalent":
        exact = True
    elif entry == "sum_div":
        exact = exact or out == 0
    elif entry in _NOT_NONE:
        exact = exp == (out is not None)
    elif entry == "find_zero":
        assert abs(_poly(*inp, out)) <= max(atol, 1e-6), f"input #{i}: not a zero"
        return
    if atol == 0 and _is_floats(exp):
        atol = 1e-6
    if not exact and atol != 0:
        assert _allclose(out, exp, atol), f"input #{i}: wrong answer"
    else:
        assert exact, f"input #{i}: wrong answer"

_INPUTS = _SPEC["inputs"]
_EXPECTED, _REF_TIMES = _run(_SPEC["canonical"], _SPEC["entry_point"], _INPUTS)
if _SPEC["entry_point"] in _NOT_NONE:
    _EXPECTED = [o is not None for o in _EXPECTED]
_LIMITS = [max(_SPEC["min_limit"], _SPEC["factor"] * t) for t in _REF_TIMES]
del _SPEC["canonical"]
_run(_SOLUTION, _SPEC["entry_point"], _INPUTS, _LIMITS)
'''


class MbppPlus(Benchmark):
    name = "mbppplus"
    default_timeout_s = 60.0  # the whole program; each input has its own EvalPlus-style limit

    def parse(self, record: dict[str, Any]) -> Task:
        text = record["prompt"].strip().strip("'\"").strip()
        first_assert = record.get("assertion", "").strip().splitlines()[:1]
        prompt = f'"""\n{text}\n{first_assert[0] if first_assert else ""}\n"""\n'
        if record["task_id"].startswith("HumanEval"):  # HumanEval+: the prompt is the code prefix itself
            text, prompt = record["prompt"], record["prompt"]
        instruction = (
            f"{text}\nYour code should satisfy this test:\n{first_assert[0] if first_assert else ''}\n\n"
            f"Write the function `{record['entry_point']}` in one ```python code block."
        )
        task_id = record["task_id"]
        raw = dict(record)
        raw["base_input"] = deserialize_inputs(task_id, record["base_input"])
        raw["plus_input"] = deserialize_inputs(task_id, record["plus_input"])
        return Task(task_id, prompt, instruction, record["entry_point"], record["canonical_solution"], raw)

    def check_program(self, task: Task, completion: str, solution: str | None = None) -> Program | Skip:
        import pickle

        raw = task.raw
        spec = {
            "entry_point": task.entry_point,
            "canonical": raw["prompt"] + raw["canonical_solution"],
            "inputs": list(raw["base_input"]) + list(raw["plus_input"]),
            "atol": float(raw.get("atol") or 0),
            "min_limit": MIN_TIME_LIMIT_S,
            "factor": TIME_LIMIT_FACTOR,
        }
        code = self.code_of(task, completion, solution)
        source = f"_SOLUTION = {code!r}\n" + _RUNNER
        return Program(source, self.timeout_s, self.python, files={"_plus_spec.pkl": pickle.dumps(spec)})


class HumanEvalPlus(MbppPlus):
    """HumanEval+ (EvalPlus): same record format and protocol; needs ``--data`` (not bundled)."""

    name = "humanevalplus"
