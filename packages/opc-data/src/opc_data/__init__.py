"""opc-data: the RefineCode ``data`` stage of the OpenCoder Cookbook.

    raw dumps ─▶ ingest ─▶ langid ─▶ licences ─▶ exact+fuzzy dedup ─▶ transforms ─▶ OpenCoder rules ─▶ sampling ─▶ decontamination

The public face: ``STAGE`` / ``run`` (the stage, ``opc run data``), ``DataConfig`` (its recipe
section), and the ``opc data filter`` / ``opc data dedup`` commands (``opc_data.cli``). Everything
else is internal to the package. Attributes load lazily so that importing the package (recipe
validation, ``opc --help``) stays cheap.
"""

from __future__ import annotations

from typing import Any

__all__ = ["STAGE", "DataConfig", "run"]


def __getattr__(name: str) -> Any:
    if name in ("STAGE", "run"):
        from opc_data import stage

        return getattr(stage, name)
    if name == "DataConfig":
        from opc_data.config import DataConfig

        return DataConfig
    raise AttributeError(name)
