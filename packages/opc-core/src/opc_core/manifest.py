"""Manifests: ``_MANIFEST.json``, written last in every stage output; its presence means complete.

A manifest records the content key (what the output *should* be: config + inputs + code version),
the output fingerprint (what it *is*: a hash of its files), counts that must add up, bytes, timings,
host, code version, the resolved recipe, and the inputs' keys and fingerprints (the lineage).
Credentials are never recorded: recipes carry none, and storage takes them from the environment.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from opc_core import storage
from opc_core.errors import ManifestError

MANIFEST_NAME = "_MANIFEST.json"


class Counts(BaseModel):
    """Nothing is lost: every input record is kept, rejected (with a rule) or quarantined (with an error)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    records_in: int = Field(alias="in", ge=0)
    kept: int = Field(ge=0)
    rejected: int = Field(0, ge=0)
    quarantined: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _adds_up(self) -> Counts:
        if self.records_in != self.kept + self.rejected + self.quarantined:
            raise ValueError(
                f"counts do not add up: in={self.records_in} != kept {self.kept} + rejected {self.rejected}"
                f" + quarantined {self.quarantined}"
            )
        return self

    def as_dict(self) -> dict[str, int]:
        return self.model_dump(by_alias=True)


class InputRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stage: str
    key: str
    uri: str
    fingerprint: str


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stage: str
    key: str
    uri: str
    artifact_uri: str | None = None
    fingerprint: str
    code_version: str
    created: str  # UTC, YYYY-MM-DDTHH:MM:SSZ
    inputs: dict[str, InputRef] = Field(default_factory=dict)
    external_fingerprint: str | None = None
    sources: list[str] = Field(default_factory=list)
    counts: Counts | None = None
    bytes: int = 0
    files: int = 0
    timings: dict[str, float] = Field(default_factory=dict)
    host: str = ""
    config: dict[str, Any] = Field(default_factory=dict)
    recipe: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)
    summary: str = ""
    artifacts: dict[str, str] = Field(default_factory=dict)
    """Named products inside the output (``tokenizer``, ``final``, ``model``, ...), as paths relative to
    ``uri``: how a downstream stage finds a piece of its input without knowing the producer's layout."""

    def path(self) -> str:
        return storage.join(self.uri, MANIFEST_NAME)

    def artifact(self, name: str) -> str:
        """The URI of the named artifact ``name``; an error lists the names this output has."""
        if name not in self.artifacts:
            from opc_core.errors import OpcError

            raise OpcError(f"the {self.stage} output {self.key} has no artifact named {name!r} "
                           f"(it has: {', '.join(sorted(self.artifacts)) or 'none'})", where=self.uri,
                           hint=f"rerun the {self.stage} stage with this version of opc (--force)")
        return storage.join(self.uri, self.artifacts[name])


def manifest_uri(output_uri: str) -> str:
    return storage.join(output_uri, MANIFEST_NAME)


def write_manifest(manifest: Manifest) -> None:
    """Atomic: written to a temp name and renamed (or a single S3 PUT), so it is whole or absent."""
    storage.write_text_atomic(manifest.path(), manifest.model_dump_json(indent=2, by_alias=True) + "\n")


def read_manifest(output_uri: str) -> Manifest:
    uri = manifest_uri(output_uri)
    try:
        data = json.loads(storage.read_text(uri))
    except FileNotFoundError as exc:
        raise ManifestError("no manifest: the output is incomplete or absent", where=uri) from exc
    except json.JSONDecodeError as exc:
        raise ManifestError(f"manifest is not valid JSON: {exc}", where=uri, hint="delete it to redo the stage") from exc
    try:
        return Manifest.model_validate(data)
    except Exception as exc:
        raise ManifestError(f"manifest does not validate: {exc}", where=uri, hint="delete it to redo the stage") from exc


def try_read_manifest(output_uri: str) -> Manifest | None:
    return read_manifest(output_uri) if storage.exists(manifest_uri(output_uri)) else None
