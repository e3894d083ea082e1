"""The separate virtualenv that BigCodeBench-Hard programs run in: build it once, find it afterwards.

Where it sits: ``benchmarks/bigcodebench.py`` runs each task's program (code + ``unittest`` tests) with an
interpreter that has the task's third-party libraries (pandas, matplotlib, scikit-learn, flask, tensorflow, ...).
Those ~110 pinned packages (old pandas 2.0 / matplotlib 3.7 / numpy 1.26, as the benchmark's tests expect) cannot
live in the project's main ``.venv`` (numpy 2, pandas 2.3), so they get a virtualenv of their own, pinned by
``requirements/bigcodebench.txt``. ``opc eval score --benchmark bigcodebench-hard`` and the ``eval`` stage use its
Python by default when it exists (``default_python()``); ``--python`` / ``benchmarks[].python`` override it, and
``--build-env`` / ``build_env: true`` build it first (``ensure_bigcodebench_env()``).

::

    main .venv (opc, scoring, sandbox)          BigCodeBench venv (this module builds it)
    ensure_bigcodebench_env() ──pip──────────> <repo>/.cache/bigcodebench-venv   (or $OPC_BCB_VENV)
    opc_sandbox.run_many(python=...) ─spawn──> bin/python (unprivileged, namespaced) runs each task

``packages`` builds a venv with only some of the pinned distributions (``-c`` the requirements file: same
versions, their dependencies resolved under the same pins); tests use it to stay cheap. Tasks whose libraries
the venv lacks are skipped by the benchmark, never failed.

Idempotent: a stamp file (``opc-bigcodebench-env.json`` in the venv) records the Python version, the hash of the
requirements file and the package selection. A matching stamp makes ``ensure_bigcodebench_env`` return at once
without starting any subprocess; a different one (or an interrupted build, marked by a ``.partial`` file) rebuilds
the venv from scratch. A folder that we did not build (no stamp, no partial marker) is never modified or deleted:
if it holds a ``bin/python`` it is used as found (``managed=False``), otherwise it is refused with an error. A file
lock next to the venv serialises concurrent builds.

Where the venv may live: anywhere, /tmp included (the sandbox gives each program a private tmpfs there and binds
the interpreter's directories back into it, read-only). Our venv's ``bin/python`` is a copy (``venv --copies``);
a foreign venv whose ``bin/python`` symlinks to the interpreter running opc works too (the sandbox asks that
python for its own ``sys.path``).

Measured (2026-11-27, 2 cores shared with other engineers): a full build (113 distributions, ~1 GB of wheels,
2.3 GB installed) took 53 s with pip's cache off (``PIP_NO_CACHE_DIR=1``, load ~2; PyPI answers at hundreds of
MB/s here), 53 s with the cache warm (load ~3), and 4 min 7 s for a rebuild over an old venv at load ~6.
Canonical solutions with the full venv: 141/148 pass (pass@1 0.953); the 7 that fail need the network or more
than the 60 s default timeout (listed in the requirements file). Later calls cost nothing.

What it does NOT do: run any task, download NLTK corpora or other data at run time, or install system programs
(tesseract).
"""

from __future__ import annotations

import hashlib
import logging
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from opc_core.errors import OpcError
from opc_eval.managed_venv import ManagedVenv, repo_root, run_step, venv_dir

log = logging.getLogger(__name__)

ENV_VENV = "OPC_BCB_VENV"
STAMP_NAME = "opc-bigcodebench-env.json"
PARTIAL_NAME = "opc-bigcodebench-env.partial"
VENV = ManagedVenv("BigCodeBench", STAMP_NAME, PARTIAL_NAME)
STAMP_FORMAT = 2  # 2: bin/python is a copy (venv --copies), see _build
REQUIREMENTS = "bigcodebench.txt"


@dataclass(frozen=True)
class BigCodeBenchEnv:
    """A usable venv. ``managed`` is False for one we found and did not build; ``packages`` None = all pins."""

    path: Path
    managed: bool
    packages: tuple[str, ...] | None = None

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"


def default_venv_dir() -> Path:
    """``$OPC_BCB_VENV``, else ``<repo>/.cache/bigcodebench-venv`` (git-ignored), else ``~/.cache/opc/...``."""
    return venv_dir(ENV_VENV, "bigcodebench-venv")


def requirements_file() -> Path:
    """``requirements/bigcodebench.txt``: every distribution of the venv, pinned."""
    root = repo_root()
    path = (root / "requirements" / REQUIREMENTS) if root else None
    if path is None or not path.is_file():
        raise OpcError(f"requirements/{REQUIREMENTS} not found", where=str(path or Path(__file__)),
                       hint=f"run from an OpenCoder Cookbook checkout, or build a venv yourself and set {ENV_VENV}")
    return path


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned(requirements: Path) -> dict[str, str]:
    """Canonical distribution name -> pinned version, from a ``name==version`` requirements file."""
    pins = {}
    for n, line in enumerate(requirements.read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", line)
        if not m:
            raise OpcError(f"line {n} is not an exact pin 'name==version': {line!r}", where=str(requirements),
                           hint="pin every distribution exactly (pip install --dry-run --report resolves them)")
        pins[_canonical(m.group(1))] = m.group(2)
    return pins


def _stamp(requirements: Path, packages: tuple[str, ...] | None) -> dict:
    return {
        "format": STAMP_FORMAT,
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "requirements_sha256": hashlib.sha256(requirements.read_bytes()).hexdigest(),
        "packages": list(packages) if packages is not None else None,
    }


def _run(cmd: list[str], what: str, venv: Path) -> subprocess.CompletedProcess:
    return run_step(cmd, what, venv, "check network access to PyPI or pip's configuration")


def _build(venv: Path, requirements: Path, packages: tuple[str, ...] | None) -> None:
    # --copies: bin/python is a file of its own, not a symlink to the interpreter running opc, so nothing that
    # compares real paths can mistake it for the main venv's python (whose numpy 2 / pandas 2.3 would then
    # shadow the task libraries)
    _run([sys.executable, "-m", "venv", "--copies", str(venv)], "creating the virtualenv", venv)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "--no-input"]
    what = ["-r", str(requirements)] if packages is None else ["-c", str(requirements), *packages]
    # wheels only: every pin has a cp311 (or pure-Python) wheel, and no sdist gets compiled by accident
    _run([*pip, "install", "--quiet", "--only-binary=:all:", *what], "installing the BigCodeBench libraries", venv)
    check = subprocess.run([*pip, "check"], capture_output=True, text=True)
    if check.returncode != 0:
        log.warning("bigcodebench venv: pip check reports conflicts:\n%s", check.stdout.strip())


def _python_of(path: Path) -> Path | None:
    python = path / "bin" / "python"
    return python if python.exists() else None


def ensure_bigcodebench_env(venv: Path | str | None = None, packages: Sequence[str] | None = None,
                            requirements: Path | str | None = None) -> BigCodeBenchEnv:
    """Return a venv for BigCodeBench programs, building it first if needed (see the module docstring).

    ``venv`` defaults to ``default_venv_dir()``; ``packages`` (distribution names, each pinned in the
    requirements file) selects a subset, None installs every pin; ``requirements`` defaults to
    ``requirements/bigcodebench.txt``. A matching stamp makes this a no-op that starts no subprocess.
    """
    path = Path(venv).expanduser().resolve() if venv is not None else default_venv_dir()
    if not VENV.is_ours(path) and path.exists() and (path.is_file() or any(path.iterdir())):
        python = _python_of(path)
        if python is None:
            raise OpcError("this folder is not a BigCodeBench virtualenv that opc built, and has no bin/python",
                           where=str(path), hint=f"point {ENV_VENV} (or the venv argument) at an empty or missing "
                                                 "folder, where opc builds the venv, or at an existing virtualenv")
        log.info("using the existing BigCodeBench venv at %s as found (not managed by opc)", path)
        return BigCodeBenchEnv(path, managed=False)
    req = Path(requirements).resolve() if requirements is not None else requirements_file()
    selected: tuple[str, ...] | None = None
    if packages is not None:
        pins = pinned(req)
        unknown = sorted(p for p in packages if _canonical(p) not in pins)
        if unknown:
            raise OpcError(f"not pinned in {req.name}: {', '.join(unknown)}", where=str(req),
                           hint="choose packages the requirements file pins (or add exact pins there)")
        selected = tuple(sorted({_canonical(p) for p in packages}))
    want = _stamp(req, selected)
    if VENV.ready(path, want):
        return BigCodeBenchEnv(path, managed=True, packages=selected)
    log.warning("building the BigCodeBench venv at %s (%s; first time: minutes)", path,
                "all pins" if selected is None else ", ".join(selected))
    VENV.build_locked(path, want, lambda p: _build(p, req, selected))
    return BigCodeBenchEnv(path, managed=True, packages=selected)


def default_python(venv: Path | str | None = None) -> str | None:
    """The venv's Python if the venv is usable now (a finished build of ours, or a foreign venv), else None.

    Never builds anything and starts no subprocess: callers fall back to their own interpreter (tasks whose
    libraries it lacks are then skipped).
    """
    path = Path(venv).expanduser().resolve() if venv is not None else default_venv_dir()
    python = _python_of(path)
    if python is None or VENV.is_partial(path):
        return None
    return str(python)


if __name__ == "__main__":  # `python -m opc_eval.bigcodebench_env` builds (or finds) the venv and prints its path
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    print(ensure_bigcodebench_env().path)
