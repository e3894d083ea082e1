"""opc-recall: the ``recall`` stage of the OpenCoder Cookbook (code-related web text).

    pool pages ─▶ extract ─▶ BPE ─▶ fastText ×3 iterations (domains > 10% recalled, URL patterns) ─▶ kept/ (doc_type web)

The public face: ``STAGE`` / ``run`` (``opc run recall``), ``RecallConfig`` (its recipe section), and
the ``opc recall train`` / ``opc recall classify`` commands (``opc_recall.cli``). Attributes load lazily
so that importing the package stays cheap.
"""

from __future__ import annotations

from typing import Any

__all__ = ["STAGE", "RecallConfig", "run"]


def __getattr__(name: str) -> Any:
    if name in ("STAGE", "run"):
        from opc_recall import stage

        return getattr(stage, name)
    if name == "RecallConfig":
        from opc_recall.config import RecallConfig

        return RecallConfig
    raise AttributeError(name)
