"""The stage registry: stage packages announce themselves through the ``opc.stages`` entry point group.

opc-core knows no stage by name; ``opc-data`` registers ``data = "opc_data.stage:STAGE"`` in its
pyproject, and so on. This keeps packages independent (a Spark worker image installs opc-data
without torch) while the CLI, the runner and the Prefect flows find every installed stage.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

from opc_core.errors import OpcError
from opc_core.stage import StageSpec

_registered: dict[str, StageSpec] = {}


def register_stage(spec: StageSpec) -> None:
    """Register a stage in-process (notebooks, experiments, tests) next to the installed ones."""
    _registered[spec.name] = spec
    get_stage.cache_clear()


@cache
def _entry_points() -> dict[str, object]:
    return {ep.name: ep for ep in entry_points(group="opc.stages")}


@cache
def get_stage(name: str) -> StageSpec:
    """Load one stage's spec (stage modules import heavy libraries lazily, inside their run function)."""
    if name in _registered:
        return _registered[name]
    eps = _entry_points()
    if name not in eps:
        raise OpcError(f"no stage named {name!r}; installed: {sorted(eps)}")
    ep = eps[name]
    try:
        spec = ep.load()
    except Exception as exc:  # a broken stage package must say which one it is
        raise OpcError(f"stage {name!r} failed to import: {exc}", where=ep.value) from exc
    if not isinstance(spec, StageSpec) or spec.name != name:
        raise OpcError(f"entry point {name!r} does not point at a StageSpec named {name!r}", where=ep.value)
    return spec


def stage_names() -> set[str]:
    return set(_entry_points()) | set(_registered)
