"""The training modules import one way: no cycle (imports inside functions and under TYPE_CHECKING count),
and the loop and its engines never import their launcher."""

from __future__ import annotations

from opc_core.import_graph import direct_imports, find_cycle, package_modules


def test_opc_train_modules_have_no_import_cycle() -> None:
    modules = package_modules("opc_train")
    assert {"opc_train.engines", "opc_train.train_loop", "opc_train.distributed"} <= set(modules)
    cycle = find_cycle(modules)
    assert cycle is None, " -> ".join(cycle or [])


def test_the_loop_and_engines_do_not_import_the_launcher() -> None:
    for module in ("opc_train.train_loop", "opc_train.engines", "opc_train.validation", "opc_train.metrics"):
        assert "opc_train.distributed" not in direct_imports(module), module
