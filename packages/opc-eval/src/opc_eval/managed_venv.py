"""Where opc keeps the extra virtualenvs it builds for itself (vLLM, BigCodeBench's libraries).

They cannot share the main environment (vLLM pins fastapi below what Prefect needs; BigCodeBench pins
numpy 1.x and pandas 2.0), so each lives in ``<repo>/.cache/<name>`` (git-ignored) or where an
environment variable says, built from a pinned requirements file under ``requirements/``.
"""

from __future__ import annotations

import os
from pathlib import Path


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
