"""Imports run one way inside every package: no module imports another that (transitively) imports it back,
counting imports inside functions and under ``TYPE_CHECKING`` (a cycle means a third module is missing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from opc_core.import_graph import direct_imports, find_cycle, package_modules

REPO = Path(__file__).resolve().parents[1]
PACKAGES = sorted(p.name.replace("-", "_") for p in (REPO / "packages").iterdir() if (p / "pyproject.toml").is_file())


@pytest.mark.parametrize("package", [*PACKAGES, "flows"])
def test_no_import_cycle_inside_the_package(package):
    modules = package_modules(package)
    assert modules, f"found no modules for {package}"
    cycle = find_cycle(modules)
    assert cycle is None, f"import cycle in {package}: {' -> '.join(cycle)}"


def test_cycle_finder_sees_imports_inside_functions(tmp_path, monkeypatch):
    pkg = tmp_path / "cyc_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from cyc_pkg import b\n")
    (pkg / "b.py").write_text("def f():\n    from cyc_pkg.a import thing\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "cyc_pkg.a" in direct_imports("cyc_pkg.b")
    assert find_cycle(package_modules("cyc_pkg")) in (["cyc_pkg.a", "cyc_pkg.b", "cyc_pkg.a"],
                                                      ["cyc_pkg.b", "cyc_pkg.a", "cyc_pkg.b"])
