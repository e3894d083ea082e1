"""A stage's cache key moves when the code that computes its output moves, and only then.

The pretrain key must not move when an eval-only module (``generation.py``) is edited: that would retrain a
1.5B model for nothing. Each registered stage declares ``code_modules``; the import graph (read from source,
imports inside functions included) checks the declaration covers every first-party module the stage can reach.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from opc_core.import_graph import closure, covered
from opc_core.registry import get_stage, stage_names

REPO = Path(__file__).resolve().parents[1]
# opc_core is the framework that runs stages (storage, manifests), not code that computes an output
FIRST_PARTY = tuple(p.name.replace("-", "_") for p in (REPO / "packages").iterdir()
                    if (p / "pyproject.toml").is_file() and p.name != "opc-core")


@pytest.mark.parametrize("stage", sorted(stage_names()))
def test_declared_code_modules_cover_every_first_party_import(stage):
    spec = get_stage(stage)
    assert spec.code_modules, f"stage {stage!r} declares no code_modules: its key would hash a whole package"
    reach = closure([spec.run.__module__], FIRST_PARTY)
    missing = sorted(m for m in reach if not covered(m, spec.code_modules))
    assert not missing, f"stage {stage!r} can import {missing} but its code_modules do not name them"


def _pretrain_code_version(src_root: Path) -> str:
    modules = get_stage("pretrain").code_modules
    code = ("import sys; from opc_core.content_key import code_version; "
            f"print(code_version(*{list(modules)!r}))")
    out = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": str(src_root), "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_pretrain_key_ignores_eval_only_modules_and_follows_its_own(tmp_path):
    src = REPO / "packages/opc-train/src/opc_train"
    copy = tmp_path / "src"
    shutil.copytree(src, copy / "opc_train", ignore=shutil.ignore_patterns("__pycache__"))
    before = _pretrain_code_version(copy)

    (copy / "opc_train/generation.py").write_text((src / "generation.py").read_text() + "\n# an eval-only edit\n")
    assert _pretrain_code_version(copy) == before, "editing generation.py (eval only) moved the pretrain key"

    (copy / "opc_train/model.py").write_text((src / "model.py").read_text() + "\n# a model edit\n")
    assert _pretrain_code_version(copy) != before, "editing model.py did not move the pretrain key"
