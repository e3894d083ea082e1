"""Stack-style record dicts (JSONL lines, Parquet rows) -> raw records.

Accepted fields: the ``records.RAW_FIELDS`` names (the schema of ``dev.jsonl.gz``), plus common aliases of
The Stack v1/v2 (``max_stars_repo_name`` -> repo_name, ``max_stars_repo_path`` -> path, ``max_stars_count``
-> stars, ``detected_licenses`` -> license, ...). Unknown fields are ignored.

Two kinds of problems, two treatments (documented in ``ingest/__init__.py``):
  * a required field (repo_name, path, content) absent -> ``OpcError`` naming file and line/row: the input is
    not a record dump of this shape, and guessing would lose data silently;
  * a field present with an impossible value (content a number, stars "many") -> ``RecordProblem``, which
    the readers turn into a quarantined record (or an error with ``strict: true``).

Missing optional fields get defaults; ``size``, ``blob_id`` and ``is_binary`` are computed from the bytes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from opc_core.errors import OpcError
from opc_data.encoding import recover_bytes, redecode_record
from opc_data.ingest.config import IngestConfig
from opc_data.ingest.file_record import oversize_record, record_from_bytes
from opc_data.records import REQUIRED_FIELDS, git_blob_id, looks_binary, make_record

ALIASES: dict[str, tuple[str, ...]] = {
    "repo_name": ("repo_name", "max_stars_repo_name", "repository_name", "repo"),
    "path": ("path", "max_stars_repo_path", "file_path", "filepath"),
    "content": ("content", "text", "code"),
    "stars": ("stars", "max_stars_count", "star_events_count"),
    "commit_date": ("commit_date", "committer_date", "revision_date", "max_stars_repo_stars_event_max_datetime"),
    "commit_sha": ("commit_sha", "revision_id", "max_stars_repo_head_hexsha"),
    "license": ("license", "detected_licenses", "max_stars_repo_licenses"),
    "size": ("size", "length_bytes"),
    "blob_id": ("blob_id",),
    "src_encoding": ("src_encoding",),
    "is_binary": ("is_binary",),
}


class RecordProblem(ValueError):
    """A record that is present but unusable as given (quarantined, or an error in strict mode)."""


def field_columns(names: list[str]) -> dict[str, str]:
    """Our field -> the first column of ``names`` that provides it."""
    out = {}
    for field, aliases in ALIASES.items():
        for a in aliases:
            if a in names:
                out[field] = a
                break
    return out


def _get(obj: dict[str, Any], field: str) -> Any:
    for a in ALIASES[field]:
        if a in obj and obj[a] is not None:
            return obj[a]
    return None


def _as_str(value: Any, field: str) -> str:
    if isinstance(value, str):
        return value
    raise RecordProblem(f"field {field!r} must be a string, got {type(value).__name__}")


def _as_int_or_none(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise RecordProblem(f"field {field!r} must be an integer, got bool")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise RecordProblem(f"field {field!r} must be an integer, got {value!r:.40}")


def _as_license(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, (list, tuple)):
        ids = sorted({str(v).strip() for v in value if v})
        if not ids:
            return None
        return ids[0] if len(ids) == 1 else " AND ".join(ids)
    raise RecordProblem(f"field 'license' must be a string or list, got {type(value).__name__}")


def _as_date(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, str):
        return value
    raise RecordProblem(f"field 'commit_date' must be a date string, got {type(value).__name__}")


def from_stack_dict(obj: Any, *, where: str, source: str, config: IngestConfig) -> dict[str, Any]:
    """One Stack-style dict -> a raw record (see module docstring for errors vs ``RecordProblem``)."""
    if not isinstance(obj, dict):
        raise RecordProblem(f"a record must be a JSON object, got {type(obj).__name__}")
    for field in REQUIRED_FIELDS:
        if _get(obj, field) is None:
            present = [a for a in ALIASES[field] if a in obj]
            what = f"field {field!r} is null" if present else f"no field {field!r}"
            raise OpcError(
                f"{what} (required: {', '.join(REQUIRED_FIELDS)}); fields present: {sorted(obj)[:12]}",
                where=where,
                hint="a Stack-style record needs repo_name, path and content (see opc_data.records)",
            )
    repo_name = _as_str(_get(obj, "repo_name"), "repo_name")
    path = _as_str(_get(obj, "path"), "path")
    raw_content = _get(obj, "content")
    license = _as_license(_get(obj, "license"))
    commit_date = _as_date(_get(obj, "commit_date"))
    commit_sha = _get(obj, "commit_sha")
    commit_sha = None if commit_sha is None else _as_str(commit_sha, "commit_sha")
    stars = _as_int_or_none(_get(obj, "stars"), "stars")

    if isinstance(raw_content, (bytes, bytearray)):  # a binary content column: decode it ourselves
        rec = record_from_bytes(
            repo_name=repo_name, path=path, data=bytes(raw_content), source=source, config=config,
            license=license, commit_date=commit_date, commit_sha=commit_sha,
        )
        rec["stars"] = stars
        return rec

    content = _as_str(raw_content, "content")
    for field, value in (("repo_name", repo_name), ("path", path), ("content", content)):
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:  # lone surrogates from "\ud800"-style escapes: not storable text
                raise RecordProblem(f"field {field!r} is not valid Unicode ({exc.reason} at {exc.start})") from exc
    src_encoding = _get(obj, "src_encoding")
    src_encoding = "UTF-8" if src_encoding is None else _as_str(src_encoding, "src_encoding")
    size = _as_int_or_none(_get(obj, "size"), "size")
    blob_id = _get(obj, "blob_id")
    blob_id = None if blob_id is None else _as_str(blob_id, "blob_id")
    is_binary = _get(obj, "is_binary")
    if is_binary is not None and not isinstance(is_binary, bool):
        raise RecordProblem(f"field 'is_binary' must be a boolean, got {is_binary!r:.40}")
    if size is None or blob_id is None or is_binary is None:
        data = recover_bytes(content, src_encoding)
        size = len(data) if size is None else size
        blob_id = git_blob_id(data) if blob_id is None else blob_id
        is_binary = looks_binary(data) if is_binary is None else is_binary

    if size > config.max_file_bytes:
        rec = oversize_record(
            repo_name=repo_name, path=path, size=size, blob_id=blob_id, source=source, config=config,
            license=license, commit_date=commit_date, commit_sha=commit_sha,
        )
        rec["stars"] = stars
        return rec

    rec = make_record(
        repo_name=repo_name,
        path=path,
        content=content,
        size=size,
        blob_id=blob_id,
        source=source,
        license=license,
        stars=stars,
        commit_date=commit_date,
        commit_sha=commit_sha,
        src_encoding=src_encoding,
        is_binary=bool(is_binary),
    )
    return redecode_record(rec, config.encoding)


def malformed_record(*, line: bytes, where: str, source: str, why: str) -> dict[str, Any]:
    """A line/row that is not a usable record: kept whole as a quarantined record (lossless)."""
    from opc_data.encoding import MALFORMED_RECORD, reason

    try:
        text, enc = line.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        text, enc = line.decode("latin-1"), "ISO-8859-1"
    return make_record(
        repo_name="",
        path=where,
        content=text,
        size=len(line),
        blob_id=git_blob_id(line),
        source=source,
        src_encoding=enc,
        is_binary=False,
        quarantine_reason=reason(MALFORMED_RECORD, f"{where}: {why}"),
    )
