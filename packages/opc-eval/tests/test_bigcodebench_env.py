"""BigCodeBench's own virtualenv: built for real from a small subset of requirements/bigcodebench.txt.

One venv with numpy + pandas (the pinned versions, ~40 s and ~150 MB when pip's cache is cold) is built per
session; the canonical solutions of the Hard tasks whose libraries are all in it must pass, and every task that
needs another library must come back skipped, never failed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from opc_core.errors import OpcError
from opc_eval import bigcodebench_env
from opc_eval.benchmarks import get_benchmark
from opc_eval.bigcodebench_env import (
    PARTIAL_NAME,
    STAMP_NAME,
    default_python,
    ensure_bigcodebench_env,
    pinned,
    requirements_file,
)
from opc_eval.scoring import score_samples

SUBSET = ("numpy", "pandas")
# what the subset venv can import besides the standard library: the two and pandas' own dependencies
SUBSET_MODULES = {"numpy", "pandas", "pytz", "dateutil", "six", "tzdata"}


def _scratch() -> Path:
    """A folder under /tmp on purpose: each sandboxed program gets a private tmpfs there, and must still see the
    venv (the sandbox binds it back), as it must for a checkout cloned under /tmp."""
    return Path(tempfile.mkdtemp(prefix="test-bigcodebench-venv-"))


@pytest.fixture(scope="module")
def small_env():
    where = _scratch()
    try:
        yield ensure_bigcodebench_env(where / "venv", packages=SUBSET)
    finally:
        shutil.rmtree(where, ignore_errors=True)


@pytest.fixture
def scratch():
    where = _scratch()
    yield where
    shutil.rmtree(where, ignore_errors=True)


@pytest.fixture(scope="module")
def hard_tasks(eval_data):
    bench = get_benchmark("bigcodebench-hard", python=sys.executable)
    return bench, bench.load(str(eval_data / "BigCodeBench_Hard.jsonl.gz"))


def _third_party(bench, task) -> set[str]:
    return {m for m in bench.required_modules(task) if m not in sys.stdlib_module_names}


def test_requirements_file_pins_every_hard_task_library_exactly():
    pins = pinned(requirements_file())
    for dist in ("numpy", "pandas", "matplotlib", "scikit-learn", "scipy", "seaborn", "tensorflow-cpu", "flask"):
        assert dist in pins, dist
    assert all(v and "*" not in v for v in pins.values())


def test_subset_venv_passes_canonicals_of_its_tasks_and_skips_the_rest(small_env, hard_tasks):
    _, tasks = hard_tasks
    bench = get_benchmark("bigcodebench-hard", python=str(small_env.python))
    ours = [t for t in tasks if _third_party(bench, t) and _third_party(bench, t) <= SUBSET_MODULES]
    others = [t for t in tasks if not _third_party(bench, t) <= SUBSET_MODULES]
    assert len(ours) >= 5 and len(others) >= 90, (len(ours), len(others))
    chosen = ours + others
    samples = [{"task_id": t.task_id, "completion": t.canonical} for t in chosen]
    results, summary = score_samples(bench, chosen, samples, workers=2)
    by_id = {r.task_id: r for r in results}
    for t in ours:
        assert by_id[t.task_id].passed, (t.task_id, by_id[t.task_id].result)
    for t in others:
        r = by_id[t.task_id]
        assert r.skipped and not r.passed, (t.task_id, r.result)
        assert "missing libraries" in r.result and str(small_env.python) in r.result
    assert summary["n_tasks"] == len(ours) and summary["n_samples"] == len(ours)
    assert summary["n_skipped"] == summary["n_skipped_samples"] == len(others)
    assert summary["pass@1"] == 1.0
    assert not any(r.result.startswith("failed") for r in results)


def test_subset_venv_holds_the_pinned_versions_and_nothing_else(small_env):
    """The subset installs exactly the pins of requirements/bigcodebench.txt, not the whole file."""
    out = subprocess.run([str(small_env.python), "-c", "import numpy, pandas; print(numpy.__version__, pandas.__version__)"],
                         capture_output=True, text=True, check=True)
    pins = pinned(requirements_file())
    assert out.stdout.split() == [pins["numpy"], pins["pandas"]]
    freeze = subprocess.run([str(small_env.python), "-m", "pip", "freeze"], capture_output=True, text=True,
                            check=True).stdout.lower()
    assert "matplotlib" not in freeze and "scikit-learn" not in freeze


def test_sandboxed_programs_import_the_venvs_libraries_not_the_main_ones(small_env):
    """The sandbox must hand programs the venv's sys.path: pandas is the pinned 2.0.3, not the main venv's."""
    from opc_sandbox import Job, run_many

    pins = pinned(requirements_file())
    src = (f"import numpy, pandas\nassert pandas.__version__ == {pins['pandas']!r}, pandas.__version__\n"
           f"assert numpy.__version__ == {pins['numpy']!r}, numpy.__version__\n")
    [r] = run_many([Job(src)], workers=1, timeout_s=60, python=str(small_env.python))
    assert r.passed, r.result


def test_second_ensure_is_free_and_leaves_the_venv_alone(small_env, monkeypatch):
    stamp = small_env.path / STAMP_NAME
    before = (stamp.stat().st_mtime_ns, small_env.python.lstat().st_mtime_ns)

    def no_subprocess(*a, **k):
        raise AssertionError(f"a matching stamp must not start a subprocess: {a}")

    monkeypatch.setattr(bigcodebench_env.subprocess, "run", no_subprocess)
    again = ensure_bigcodebench_env(small_env.path, packages=list(reversed(SUBSET)))
    assert again == small_env and again.managed
    assert (stamp.stat().st_mtime_ns, small_env.python.lstat().st_mtime_ns) == before
    assert json.loads(stamp.read_text())["packages"] == sorted(SUBSET)


def test_refuses_a_folder_it_did_not_build(scratch):
    foreign = scratch / "mine"
    foreign.mkdir()
    (foreign / "precious.txt").write_text("keep me")
    with pytest.raises(OpcError, match="not a BigCodeBench virtualenv that opc built"):
        ensure_bigcodebench_env(foreign, packages=SUBSET)
    assert (foreign / "precious.txt").read_text() == "keep me"
    assert sorted(p.name for p in foreign.iterdir()) == ["precious.txt"]
    assert not (scratch / ".mine.lock").exists()


def test_uses_a_foreign_venv_as_found_without_writing_to_it(scratch):
    foreign = scratch / "theirs"
    (foreign / "bin").mkdir(parents=True)
    (foreign / "bin" / "python").symlink_to(sys.executable)
    env = ensure_bigcodebench_env(foreign, packages=SUBSET)
    assert not env.managed and env.python == foreign / "bin" / "python"
    assert sorted(p.name for p in foreign.iterdir()) == ["bin"]
    assert default_python(foreign) == str(foreign / "bin" / "python")


def test_unknown_package_and_interrupted_build_are_handled(scratch):
    with pytest.raises(OpcError, match="not pinned"):
        ensure_bigcodebench_env(scratch / "v", packages=["numpy", "no-such-dist"])
    half = scratch / "half"
    (half / "bin").mkdir(parents=True)
    (half / "bin" / "python").symlink_to(sys.executable)
    (half / PARTIAL_NAME).write_text("interrupted")
    assert default_python(half) is None  # a half-built venv is never used by default


def test_benchmark_and_cli_use_the_venv_by_default(small_env, hard_tasks, eval_data, tmp_path, monkeypatch):
    bench, tasks = hard_tasks
    monkeypatch.setenv(bigcodebench_env.ENV_VENV, str(small_env.path))
    assert get_benchmark("bigcodebench-hard").python == str(small_env.python)
    assert get_benchmark("bigcodebench-hard", python=sys.executable).python == sys.executable  # --python wins
    ours = next(t for t in tasks if _third_party(bench, t) and _third_party(bench, t) <= SUBSET_MODULES)
    other = next(t for t in tasks if "matplotlib" in _third_party(bench, t))
    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps(s) + "\n" for s in [
        {"task_id": ours.task_id, "completion": ours.canonical},
        {"task_id": ours.task_id, "completion": "    raise ValueError('wrong')\n"},
        {"task_id": other.task_id, "completion": other.canonical},
    ]))
    out = tmp_path / "out"
    opc = Path(sys.executable).with_name("opc")
    r = subprocess.run([str(opc), "eval", "score", "--benchmark", "bigcodebench-hard", "--samples", str(samples),
                        "--output", str(out), "--data", str(eval_data / "BigCodeBench_Hard.jsonl.gz"),
                        "--workers", "2"], capture_output=True, text=True, env={**os.environ}, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [row["passed"] for row in rows] == [True, False, False]
    assert rows[1]["result"].startswith("failed") and rows[2]["result"].startswith("skipped")
    assert str(small_env.python) in rows[2]["result"]  # the venv, not the main interpreter, was probed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_tasks"] == 1 and summary["n_samples"] == 2 and summary["n_skipped"] == 1
    assert summary["pass@1"] == 0.5


def test_build_env_is_a_bigcodebench_option_that_excludes_python():
    from pydantic import ValidationError

    from opc_eval.config import BenchmarkSelection

    assert BenchmarkSelection(name="bigcodebench-hard", build_env=True).build_env
    with pytest.raises(ValidationError, match="bigcodebench-hard only"):
        BenchmarkSelection(name="humaneval", build_env=True)
    with pytest.raises(ValidationError, match="both choose the interpreter"):
        BenchmarkSelection(name="bigcodebench-hard", build_env=True, python=sys.executable)
