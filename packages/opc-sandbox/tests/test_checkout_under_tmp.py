"""A checkout (and its venv) under /tmp must work: each sandboxed program gets a private tmpfs over /tmp, and
what the interpreter needs is bound back into it wherever it lives (issue 10: cloned under /tmp, the sandbox
hid the project's own venv from its programs).

Cheap on purpose: instead of a second full install, the copy gets a venv with ``--without-pip`` whose one
``.pth`` file puts the copied ``opc_sandbox`` first and chains to the site-packages this test runs with (for
pytest). The copy's own sandbox tests then run from there, in a subprocess.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from opc_sandbox import probe

PACKAGE = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(not (probe().root and probe().mount_namespace), reason="needs root + a mount namespace")
def test_sandbox_tests_pass_from_a_checkout_and_venv_under_tmp(tmp_path):
    checkout = tmp_path / "opc-checkout"  # /tmp/pytest-of-<user>/... (a mode-700 parent, like a real /tmp clone)
    assert str(checkout).startswith("/tmp/")
    copy = checkout / "packages" / "opc-sandbox"
    shutil.copytree(PACKAGE / "src", copy / "src", ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "tests").mkdir()
    for name in ("test_hostile_programs.py", "test_interpreters.py"):
        shutil.copy(PACKAGE / "tests" / name, copy / "tests" / name)
    venv = checkout / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3.*/site-packages"))
    chained = [p for p in sys.path if p.endswith("site-packages") and os.path.isdir(p)]
    (site / "_opc_checkout.pth").write_text(
        f"{copy / 'src'}\nimport site; list(map(site.addsitedir, {chained!r}))\n")
    python = str(venv / "bin" / "python")
    where = subprocess.run([python, "-c", "import opc_sandbox; print(opc_sandbox.__file__)"],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert where.startswith(str(copy)), where
    # the attacks that touch the file-system view, for both engines, plus the foreign-venv test
    tests = ("test_interpreters.py", "test_hostile_programs.py::test_plain_program_passes_and_its_output_is_captured",
             "test_hostile_programs.py::test_writing_outside_the_temp_dir_fails_and_leaves_host_untouched",
             "test_hostile_programs.py::test_scratch_is_a_size_capped_tmpfs_not_the_host_disk",
             "test_hostile_programs.py::test_sysv_shared_memory_dies_with_the_program_and_the_next_program_cannot_see_it")
    r = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(checkout),
                        *[f"packages/opc-sandbox/tests/{t}" for t in tests]],
                       cwd=checkout, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert " passed" in r.stdout and "skipped" not in r.stdout, r.stdout[-2000:]
