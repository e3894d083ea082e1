"""The OpenCoder rule filter over records: language id + signals + keep/drop, one output row per record.

    raw records ──▶ langid.identify(path) ──▶ Document ──▶ compute_signals ──▶ decide ──▶ rows
                                                                                           │
    rows (stored signal columns) ──▶ redecide(rows, other config) ──▶ rows (no signal recomputed)

Each output row carries ``repo_name, path, blob_id, program_lang, doc_type, lang, scope, keep,
rules_fired, reject_reason, signal_errors`` and one column per quality signal (``SIGNAL_COLUMNS``: every
signal name of the reference tables, flat, stable order, float or null when the signal does not apply
to the document). ``reject_reason`` is None for kept rows, ``"quarantined: <reason>"`` for records the
ingest marked (binary, undecodable, oversize; never analysed), ``"doc_type: unknown"`` /
``"doc_type: excluded"`` (dropped without signals, as the reference), or ``"rules"``.

``RecordFilter(config)`` is the per-config filter object (thresholds resolved once) that the stage,
the CLI and ``filter_records`` share; ``filter_record`` builds one per call (fine for a few records).

``FilterConfig`` is the recipe section: per-scope threshold overrides (declarative rules, see
``opc_data.rules``), the random-rule mode, natural-language detection and the corrected-rule option.
The defaults reproduce the reference pipeline.

What it does NOT do: read or write files (the CLI / stage do), dedup, transforms, sampling.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator

from opc_data.document import Document
from opc_data.records import quarantine_reason_of
from opc_data.rules import (
    CORRECTED_SIGNALS,
    Rule,
    Thresholds,
    decide,
    reference_thresholds,
    select_scope,
)
from opc_data.signals import compute_signals, compute_signals_with_errors
from opc_data.signals.natural_language import detect_language

__all__ = [
    "FilterConfig",
    "RecordFilter",
    "RuleSpec",
    "filter_records",
    "filter_record",
    "redecide",
    "compute_signals",
    "decide",
    "SIGNAL_COLUMNS",
    "ROW_COLUMNS",
    "FILTER_SCHEMA",
    "rows_to_table",
]


class RuleSpec(BaseModel):
    """One threshold rule as recipe data: drop when any ``[op, value]`` clause holds (op: <, >, ==)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    drop_if_any: list[tuple[Literal["<", ">", "=="], float | int | bool]] = Field(min_length=1)
    random_fire_rate: float | None = Field(default=None, ge=0.0, le=1.0)

    def to_rule(self) -> Rule:
        return Rule.from_data(self.model_dump(exclude_none=True))


class FilterConfig(BaseModel):
    """Recipe options of the rule filter; defaults = the OpenCoder reference behaviour."""

    model_config = ConfigDict(extra="forbid")

    thresholds: dict[str, dict[str, RuleSpec | None]] = Field(
        default_factory=dict,
        description="overrides per scope and signal (null = do not threshold this signal in that scope)",
    )
    random_rule_mode: Literal["hash", "strict", "never"] = Field(
        default="hash",
        description="the eight random reference rules: hash of blob_id (fires for ~random_fire_rate of "
        "files), strict (always fire, = reference effective_strict) or never",
    )
    nl_detection: bool = Field(default=False, description="detect zh/ja/ko text (else every file is en)")
    corrected_rules: bool = Field(
        default=False, description="use the corrected Go/C# var_zero signals (reference: never fire)"
    )

    @field_validator("thresholds")
    @classmethod
    def _known_scopes(cls, v: dict[str, dict[str, RuleSpec | None]]) -> dict[str, dict[str, RuleSpec | None]]:
        ref = reference_thresholds()
        for scope in v:
            if scope not in ref:
                raise ValueError(f"unknown threshold scope {scope!r}; known scopes: {sorted(ref)}")
        return v

    def resolved_thresholds(self) -> Thresholds:
        """The reference tables with this config's overrides applied."""
        table = reference_thresholds()
        for scope, rules in self.thresholds.items():
            for sig, spec in rules.items():
                table[scope][sig] = None if spec is None else spec.to_rule()
        return table


def _signal_columns() -> tuple[str, ...]:
    from opc_data.signals import general_code, text  # noqa: PLC0415

    names: list[str] = list(general_code.SIGNALS)
    names += [s for s in text.SIGNALS if s not in names]
    for rules in reference_thresholds().values():
        names += [s for s in rules if s not in names]
    names += [s for s in CORRECTED_SIGNALS.values() if s not in names]
    return tuple(names)


SIGNAL_COLUMNS: tuple[str, ...] = _signal_columns()
ROW_COLUMNS: tuple[str, ...] = (
    "repo_name",
    "path",
    "blob_id",
    "program_lang",
    "doc_type",
    "lang",
    "scope",
    "keep",
    "rules_fired",
    "reject_reason",
    "signal_errors",
)


FILTER_SCHEMA = pa.schema(
    [
        pa.field("repo_name", pa.string()),
        pa.field("path", pa.string()),
        pa.field("blob_id", pa.string()),
        pa.field("program_lang", pa.string()),
        pa.field("doc_type", pa.string()),
        pa.field("lang", pa.string()),
        pa.field("scope", pa.string()),
        pa.field("keep", pa.bool_(), nullable=False),
        pa.field("rules_fired", pa.list_(pa.string()), nullable=False),
        pa.field("reject_reason", pa.string()),
        pa.field("signal_errors", pa.string()),
        *(pa.field(name, pa.float64()) for name in SIGNAL_COLUMNS),
    ]
)


def rows_to_table(rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    """Output rows -> an Arrow table of ``FILTER_SCHEMA`` (one flat schema for every shard)."""
    return pa.Table.from_pylist(
        [{k: r.get(k) for k in FILTER_SCHEMA.names} for r in rows], schema=FILTER_SCHEMA
    )


def _content_blob_id(content: str) -> str:
    """The git blob id of the content, for records that do not carry one (the random rules' key)."""
    from opc_data.records import git_blob_id  # noqa: PLC0415

    return git_blob_id(content.encode("utf-8", "surrogatepass"))


def _as_float(v: Any) -> float | None:
    if v is None:
        return None
    return float(v)


class RecordFilter:
    """The rule filter of one config, built once (thresholds resolved) and applied to many records.

    Building it parses the threshold tables, which costs far more than filtering one record: the
    stage and the CLI keep one per process and call ``filter_record`` per record.
    """

    def __init__(self, config: FilterConfig) -> None:
        self.config = config
        self.thresholds = config.resolved_thresholds()

    def decide_row(self, row: Mapping[str, Any]) -> tuple[bool, list[str], str | None]:
        """(keep, rules fired, reject reason) of a row with stored signal columns; computes nothing."""
        scope = row.get("scope")
        if scope is None:
            return False, [], row.get("reject_reason") or f"doc_type: {row.get('doc_type')}"
        keep, fired = decide(
            row,
            scope,
            self.thresholds,
            blob_id=row.get("blob_id"),
            random_mode=self.config.random_rule_mode,
            corrected=self.config.corrected_rules,
        )
        return keep, fired, None if keep else "rules"

    def filter_record(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """One output row for one raw record (see the module docstring)."""
        out: dict[str, Any] = {
            "repo_name": record.get("repo_name"),
            "path": record.get("path"),
            # a record without one gets its content's git blob id (the key of the random rules)
            "blob_id": record.get("blob_id") or _content_blob_id(record.get("content") or ""),
        }
        path = record.get("path") or ""
        if record.get("program_lang") and record.get("doc_type"):
            program_lang, doc_type = record["program_lang"], record["doc_type"]
        else:
            from opc_data.langid import identify  # noqa: PLC0415

            program_lang, doc_type = identify(path)
        out["program_lang"] = program_lang
        out["doc_type"] = doc_type
        signals: dict[str, Any] = {}
        errors: dict[str, str] = {}
        quarantine = quarantine_reason_of(record)
        content = record.get("content") or ""
        lang = "en"
        if quarantine is not None:
            scope = None
            reject = f"quarantined: {quarantine}"
        else:
            if self.config.nl_detection:
                lang = detect_language(content)
            scope = select_scope(doc_type, program_lang, lang)
            reject = None if scope is not None else f"doc_type: {doc_type}"
            if scope is not None:
                doc = Document(
                    content,
                    filename=path.replace("\\", "/").rsplit("/", 1)[-1],
                    program_lang=program_lang,
                    doc_type=doc_type,
                    lang=lang,
                    size_bytes=record.get("size"),
                    blob_id=out["blob_id"],
                )
                signals, errors = compute_signals_with_errors(doc)
        out["lang"] = lang
        out["scope"] = scope
        for name in SIGNAL_COLUMNS:
            out[name] = _as_float(signals.get(name))
        if scope is None:
            keep, fired = False, []
        else:
            keep, fired = decide(
                signals,
                scope,
                self.thresholds,
                blob_id=out["blob_id"],
                random_mode=self.config.random_rule_mode,
                corrected=self.config.corrected_rules,
            )
            reject = None if keep else "rules"
        out["keep"] = keep
        out["rules_fired"] = fired
        out["reject_reason"] = reject
        out["signal_errors"] = json.dumps(errors) if errors else None
        return out


def filter_record(record: Mapping[str, Any], config: FilterConfig | None = None) -> dict[str, Any]:
    """One output row for one raw record (see the module docstring)."""
    return RecordFilter(config or FilterConfig()).filter_record(record)


def filter_records(
    records: Iterable[Mapping[str, Any]], config: FilterConfig | None = None
) -> Iterator[dict[str, Any]]:
    """One output row per input record, in input order (streaming; nothing is held back)."""
    f = RecordFilter(config or FilterConfig())
    for record in records:
        yield f.filter_record(record)


def redecide(rows: Iterable[Mapping[str, Any]], config: FilterConfig) -> Iterator[dict[str, Any]]:
    """Re-apply (possibly changed) thresholds to stored rows: reads the signal columns, computes nothing.

    ``lang`` and ``scope`` are taken from the rows (natural-language detection happened at signal time).
    """
    f = RecordFilter(config)
    for row in rows:
        keep, fired, reject = f.decide_row(row)
        yield {**row, "keep": keep, "rules_fired": fired, "reject_reason": reject}
