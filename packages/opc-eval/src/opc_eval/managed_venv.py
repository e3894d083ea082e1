"""Where opc keeps the extra virtualenvs it builds for itself (vLLM, BigCodeBench's libraries).

They cannot share the main environment (vLLM pins fastapi below what Prefect needs; BigCodeBench pins
numpy 1.x and pandas 2.0), so each lives in ``<repo>/.cache/<name>`` (git-ignored) or where an
environment variable says, built from a pinned requirements file under ``requirements/``.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from opc_core.errors import OpcError

log = logging.getLogger(__name__)


def repo_root() -> Path | None:
    """The checkout this package lives in (it holds ``requirements/``), or None for a non-editable install."""
    for base in (Path(__file__).resolve(), Path.cwd().resolve()):
        for parent in (base, *base.parents):
            if (parent / "requirements" / "lock.txt").is_file() and (parent / "packages").is_dir():
                return parent
    return None


def venv_dir(env_var: str, name: str) -> Path:
    """``$<env_var>``, else ``<repo>/.cache/<name>``, else ``~/.cache/opc/<name>``."""
    if os.environ.get(env_var):
        return Path(os.environ[env_var]).expanduser().resolve()
    root = repo_root()
    return (root / ".cache" / name) if root else Path.home() / ".cache" / "opc" / name


# ---- the one builder: stamp, partial marker, lock -----------------------------------------------------------
#
# A venv opc builds carries a stamp (``<stamp_name>``: what it was built from); a matching stamp means ready,
# with no subprocess started. A build first writes ``<partial_name>``, so an interrupted one is recognised and
# rebuilt from scratch; a folder with neither file was not built by us and is never modified or deleted. A
# file lock next to the venv serialises concurrent builds (the loser finds the winner's stamp and returns).


@dataclass(frozen=True)
class ManagedVenv:
    """How one kind of managed venv names its marker files (and what to call it in messages)."""

    label: str
    stamp_name: str
    partial_name: str

    def read_stamp(self, path: Path) -> dict | None:
        try:
            return json.loads((path / self.stamp_name).read_text())
        except (OSError, ValueError):
            return None

    def is_ours(self, path: Path) -> bool:
        """A venv we built, finished or interrupted."""
        return self.read_stamp(path) is not None or (path / self.partial_name).exists()

    def is_partial(self, path: Path) -> bool:
        return (path / self.partial_name).exists()

    def ready(self, path: Path, want: dict) -> bool:
        return self.read_stamp(path) == want and (path / "bin" / "python").exists()

    def build_locked(self, path: Path, want: dict, build: Callable[[Path], None]) -> bool:
        """Build at ``path`` unless a matching venv appears while we wait for the lock; True if we built.

        ``build(path)`` gets an empty folder (any old venv of ours is removed first) that already holds the
        partial marker; the stamp is written and the marker removed only after it returns.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.parent / f".{path.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # another process may have built it while we waited
            if self.ready(path, want):
                return False
            if path.exists():
                shutil.rmtree(path)  # only reached for a venv whose stamp or partial marker says we built it
            path.mkdir(parents=True)
            (path / self.partial_name).write_text(f"an interrupted {self.label} venv build; the next call removes it\n")
            build(path)
            (path / self.stamp_name).write_text(json.dumps(want, indent=2) + "\n")
            (path / self.partial_name).unlink()
            return True


def run_step(cmd: list[str], what: str, venv: Path, hint: str) -> subprocess.CompletedProcess:
    """One build command; a failure is an error with the tail of its output, naming the venv."""
    log.info("%s: %s", venv.name, " ".join(cmd))
    out = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if out.returncode != 0:
        tail = (out.stdout[-3000:] + "\n" + out.stderr[-3000:]).strip()
        raise OpcError(f"{what} failed (exit {out.returncode}):\n{tail}", where=str(venv),
                       hint=f"{hint}; the next call rebuilds the venv from scratch")
    return out
