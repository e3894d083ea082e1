"""``IngestConfig``: what raw sources the data stage reads and the limits it reads them under.

Recipe shape (``stages.data.ingest``)::

    ingest:
      sources:                       # any mix; read in this order
        - s3://bucket/stack/part-*.parquet    # a plain string = {kind: uri, uri: ...}
        - {kind: uri, uri: /data/repos, format: directory}
        - {kind: embedded, distributions: [requests, click, ...]}   # the offline default corpus
      max_file_bytes: 8388608        # larger files are quarantined "oversize" (the paper drops > 8 MB)
      encoding: {detect: true, redecode_latin1: true, on_undecodable: quarantine}
      archive: {max_ratio: 100, max_total_bytes: ..., max_members: ...}

There is no default corpus in code: the tiny recipe (``recipes/tiny.yaml``) is the one definition of the
embedded corpus, and reading with no ``sources`` is an error that says so.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from opc_data.encoding import EncodingConfig

MiB = 1024 * 1024
GiB = 1024 * MiB

class UriSource(BaseModel):
    """A local path or ``s3://`` URI: a file of records, a directory, an archive, or a glob of them."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["uri"] = "uri"
    uri: str
    format: Literal["auto", "jsonl", "parquet", "directory", "archive"] = "auto"
    """``auto``: by suffix (.jsonl/.jsonl.gz/.json.gz -> jsonl, .parquet -> parquet, .tar/.tar.gz/.tgz/.zip ->
    archive); a directory holding only record files is read as records, any other directory as repositories."""
    repo_name: str | None = None
    """For a directory or archive: treat the whole tree as this one repository (default: every top-level
    folder is a repository; loose top-level files belong to a repository named after the container)."""
    license: str | None = None
    """SPDX licence for files of this source that carry none (directories/archives; else detected)."""


class EmbeddedSource(BaseModel):
    """Source files of distributions installed in the project's own virtualenv (offline, deterministic)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["embedded"] = "embedded"
    distributions: list[str] = Field(min_length=1)
    include: dict[str, list[str]] = Field(default_factory=dict)
    """Per distribution, fnmatch patterns of the RECORD paths to take (absent = all its source files)."""
    max_total_bytes: int = Field(64 * MiB, gt=0)
    """Refuse a list whose files add up to more than this (the embedded corpus must stay small)."""


Source = Annotated[UriSource | EmbeddedSource, Field(discriminator="kind")]


class ArchiveLimits(BaseModel):
    """Limits that stop zip bombs and absurd archives (each refusal is a quarantine or a named error)."""

    model_config = ConfigDict(extra="forbid")
    max_members: int = Field(1_000_000, gt=0)
    max_total_bytes: int = Field(64 * GiB, gt=0)
    """Uncompressed bytes one archive may expand to; beyond it members are quarantined ``archive_limit``
    (zip) or reading stops with an error naming the archive (tar streams)."""
    max_ratio: float = Field(100.0, gt=1)
    """Uncompressed / compressed size above which a member (zip) or a stream (tar.gz) is a bomb..."""
    ratio_min_bytes: int = Field(4 * MiB, ge=0)
    """...once it has expanded past this many bytes (small, very repetitive files compress well honestly)."""


class IngestConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sources: list[Source] = Field(default_factory=list)
    """What to read, in order. Empty is allowed here (``opc data filter`` names its input on the command
    line), and refused when the stage plans its reading."""
    max_file_bytes: int = Field(8 * MiB, gt=0)
    encoding: EncodingConfig = EncodingConfig()
    archive: ArchiveLimits = ArchiveLimits()
    skip_dirs: list[str] = Field(default_factory=lambda: [".git", ".hg", ".svn"])
    """Folder names never descended into in directories and archives (VCS metadata, not repository files)."""
    strict: bool = False
    """Turn record-level problems (malformed JSONL lines, wrong-typed fields) into errors instead of quarantine."""

    @field_validator("sources", mode="before")
    @classmethod
    def _strings_are_uris(cls, value: Any) -> Any:
        if isinstance(value, (str, dict)):
            value = [value]
        if isinstance(value, list):
            return [
                {"kind": "uri", "uri": v} if isinstance(v, str)
                else {**v, "kind": "uri"} if isinstance(v, dict) and "kind" not in v
                else v
                for v in value
            ]
        return value
