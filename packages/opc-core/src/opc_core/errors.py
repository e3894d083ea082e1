"""Errors that speak to the user: what went wrong, where (file / record / field), and what to do."""

from __future__ import annotations


class OpcError(Exception):
    """An error the user can act on. The CLI prints it without a traceback and exits non-zero."""

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None) -> None:
        self.message = message
        self.where = where
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.hint:
            text += f"\n  -> {self.hint}"
        return text


class RecipeError(OpcError):
    """A recipe that cannot run: raised before any stage starts."""


class ManifestError(OpcError):
    """A manifest that is missing, unreadable or inconsistent (e.g. counts that do not add up)."""
