"""Programs may run under another interpreter (e.g. BigCodeBench's own virtualenv): they must see that
interpreter's packages, also when its python is a symlink to the same base interpreter as ours."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from pathlib import Path

from opc_sandbox import run_program

REPO = Path(__file__).resolve().parents[3]


def test_symlinked_venv_python_sees_its_own_site_packages():
    # not under /tmp: the sandbox mounts a private tmpfs there, so a venv there would be invisible
    venv = REPO / ".cache" / f"sandbox-venv-{uuid.uuid4().hex[:8]}"
    try:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        python = venv / "bin" / "python"
        assert python.is_symlink()
        site = next((venv / "lib").glob("python3.*/site-packages"))
        (site / "opc_marker_pkg.py").write_text("WHERE = 'the other venv'\n")
        result = run_program("import opc_marker_pkg\nprint(opc_marker_pkg.WHERE, opc_marker_pkg.__file__)\n",
                             timeout_s=20, python=str(python))
        assert result.passed, result.detail + result.stderr
        assert "the other venv" in result.stdout and str(site) in result.stdout
        # and our own interpreter does not see that package
        assert not run_program("import opc_marker_pkg\n", timeout_s=20).passed
    finally:
        shutil.rmtree(venv, ignore_errors=True)
