"""Programs may run under another interpreter (e.g. BigCodeBench's own virtualenv): they must see that
interpreter's packages, also when its python is a symlink to the same base interpreter as ours, and wherever
the venv lives (here: pytest's tmp_path under /tmp, where each program gets a private tmpfs)."""

from __future__ import annotations

import subprocess
import sys

from opc_sandbox import run_program
from opc_sandbox.forkserver import ForkServer, forkserver_available


def test_symlinked_venv_python_sees_its_own_site_packages(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    assert python.is_symlink()
    site = next((venv / "lib").glob("python3.*/site-packages"))
    (site / "opc_marker_pkg.py").write_text("WHERE = 'the other venv'\n")
    src = ("import subprocess, sys, opc_marker_pkg\nprint(opc_marker_pkg.WHERE, opc_marker_pkg.__file__)\n"
           "subprocess.run([sys.executable, '-c', 'import opc_marker_pkg'], check=True)\n")
    runs = [lambda: run_program(src, timeout_s=20, python=str(python))]
    if forkserver_available():
        server = ForkServer(python=str(python))
        runs.append(lambda: server.run(src, 20.0))
    for run in runs:
        result = run()
        assert result.passed, result.detail + result.stderr
        assert "the other venv" in result.stdout and str(site) in result.stdout
        # bound back read-only: the program cannot plant code in the venv for the next one
        attack = f"open({str(site / 'opc_planted.py')!r}, 'w').write('x = 1')\n"
        assert not (run_program(attack, timeout_s=20, python=str(python)) if run is runs[0]
                    else server.run(attack, 20.0)).passed
        assert not (site / "opc_planted.py").exists()
    if forkserver_available():
        server.close()
    # and our own interpreter does not see that package
    assert not run_program("import opc_marker_pkg\n", timeout_s=20).passed
