"""The data stage as steps over documents (datatrove's lesson): each step does one thing and counts it.

Both engines execute the same list, one shard of prepared rows at a time (``process_shard``)::

    prepared row ─▶ Quarantine ─▶ License ─▶ Dedup ─▶ Transforms ─▶ Rules ─▶ Sampling ─▶ Decontamination ─▶ kept
                       │             │         │         (copyright,     │          │              │
                       ▼             ▼         ▼          PII; edits     ▼          ▼              ▼
                  quarantined     rejected  rejected      content)    rejected   rejected       rejected

A step gets a row and the shard's ``ShardOutput`` and returns the row (possibly edited) to pass it on, or
``None`` once it has put the row into quarantined/ or rejected/ with its reason. So every input row ends in
exactly one of kept / rejected / quarantined, and the funnel counts each step's removals.

Before the steps, ``prepare_record`` is the cheap per-record first pass (language id, licence verdict) that
writes the input shards; between them, the global dedup (the only cross-shard step) decides which rows the
``Dedup`` step removes (``dedup_decisions``).

Adding a step: a small class with ``name`` (its funnel step) and ``__call__(row, out)`` (plus ``finish(out)``
if it reports something once per shard), placed in ``build_steps`` where it belongs in the order; it must
either pass the row on or account for it in ``out``.

What it does NOT do: read or write storage (``shard_work`` does, for both engines), or decide dedup (``dedup``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from opc_data.config import DataConfig
from opc_data.records import quarantine_reason_of
from opc_data.schemas import OUTPUT_FIELDS

DedupDecision = tuple[str, str | None, str | None]  # (dup kind, kept copy's repo_name, kept copy's path)


# ---- before the steps ------------------------------------------------------------------------------------

def prepare_record(record: dict[str, Any], idx: int, config: DataConfig) -> dict[str, Any]:
    """Language id and licence verdict for one raw record (cheap; no content analysis)."""
    from opc_data.langid import identify
    from opc_data.licenses import license_verdict

    program_lang, doc_type = identify(record.get("path") or "")
    quarantine = quarantine_reason_of(record)
    row = {k: record.get(k) for k in OUTPUT_FIELDS}
    row.update(_idx=idx, program_lang=program_lang, doc_type=doc_type, is_binary=bool(record.get("is_binary")),
               quarantine_reason=quarantine, size=int(record.get("size") or 0),
               content=record.get("content") or "")
    row["stars"] = None if record.get("stars") is None else int(record["stars"])
    row["license_reason"] = None if quarantine else license_verdict(record.get("license"), config.licenses)
    return row


def dedup_eligible(row: dict[str, Any]) -> bool:
    """Records that reach dedup: not quarantined and allowed by the licence policy."""
    return row.get("quarantine_reason") is None and row.get("license_reason") is None


def dedup_decisions(rows: Iterable[dict[str, Any]], idxs: Iterator[int]) -> dict[int, DedupDecision]:
    """Removed records only: ``_idx`` -> (dup_kind, kept repo_name, kept path), from ``deduplicate`` rows."""
    out: dict[int, DedupDecision] = {}
    for row, idx in zip(rows, idxs, strict=True):
        if not row["keep"]:
            out[idx] = (row["dup_kind"], row["duplicate_of_repo_name"], row["duplicate_of_path"])
    return out


# ---- what a shard produces -------------------------------------------------------------------------------

@dataclass
class ShardOutput:
    """The rows of one shard by destination, the funnel counter, and what steps report (hits, samples)."""

    funnel: Any
    kept: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    signals: list[dict[str, Any]] = field(default_factory=list)
    decontamination_hits: list[dict[str, Any]] = field(default_factory=list)
    transform_samples: dict[str, dict[str, Any]] = field(default_factory=dict)
    index: list[dict[str, Any]] = field(default_factory=list)  # dedup index rows of the kept records

    def reject(self, row: dict[str, Any], step: str, reason: str, fired: list[str] | None = None,
               dup: DedupDecision | None = None) -> None:
        out = {k: row.get(k) for k in OUTPUT_FIELDS}
        out.update(reject_reason=reason, rules_fired=fired or [],
                   duplicate_of_repo_name=dup[1] if dup else None, duplicate_of_path=dup[2] if dup else None)
        self.rejected.append(out)
        self.funnel.removed(step, reason, row["size"])

    def keep(self, row: dict[str, Any]) -> None:
        self.kept.append({k: row.get(k) for k in OUTPUT_FIELDS})
        self.funnel.kept(_lang(row), int(row.get("size") or 0),
                         len(row["content"].encode("utf-8", "surrogatepass")))

    def as_dict(self) -> dict[str, Any]:
        return {"kept": self.kept, "rejected": self.rejected, "quarantined": self.quarantined,
                "signals": self.signals, "funnel": self.funnel.data,
                "decontamination_hits": self.decontamination_hits, "transform_samples": self.transform_samples,
                "index": self.index}


def _lang(row: dict[str, Any]) -> str:
    return row.get("program_lang") or "unknown"


# ---- the steps -------------------------------------------------------------------------------------------

class Quarantine:
    """Records the ingest could not read as text (binary, undecodable, oversize, malformed) go to quarantined/."""

    name = "quarantine"

    def __call__(self, row: dict[str, Any], out: ShardOutput) -> dict[str, Any] | None:
        if not row.get("quarantine_reason"):
            return row
        from opc_data.encoding import reason_code

        record = {k: row.get(k) for k in OUTPUT_FIELDS}
        record.update(is_binary=bool(row.get("is_binary")), error=row["quarantine_reason"])
        out.quarantined.append(record)
        out.funnel.removed(self.name, "quarantine", int(row.get("size") or 0))
        out.funnel.count("quarantine", reason_code(row["quarantine_reason"]) or "other")
        return None


class License:
    """The recipe's licence policy (decided in ``prepare_record``; applied here so it is counted)."""

    name = "license"

    def __call__(self, row: dict[str, Any], out: ShardOutput) -> dict[str, Any] | None:
        if row.get("license_reason"):
            out.reject(row, self.name, row["license_reason"])
            return None
        return row


class Dedup:
    """Removes the duplicates the global dedup decided, pointing at the copy it kept."""

    name = "dedup"

    def __init__(self, decisions: dict[int, DedupDecision]) -> None:
        self.decisions = decisions

    def __call__(self, row: dict[str, Any], out: ShardOutput) -> dict[str, Any] | None:
        dup = self.decisions.get(int(row["_idx"]))
        if dup is None:
            return row
        out.funnel.count("dedup_kinds", dup[0])
        out.reject(row, self.name, f"dedup:{dup[0]}", dup=dup)
        return None


class Transforms:
    """Copyright-notice removal and PII reduction; keeps the raw text in ``_raw`` for rules that read it."""

    name = "transforms"

    def __init__(self, config: DataConfig, pii: Any) -> None:
        self.copyright = config.transforms.copyright
        self.pii = pii

    def __call__(self, row: dict[str, Any], out: ShardOutput) -> dict[str, Any] | None:
        from opc_data.transforms import apply_transforms, merge_samples

        raw = row["content"]
        done = apply_transforms(raw, _lang(row), self.copyright, self.pii, samples=True)
        for kind, n in done.counts.items():
            out.funnel.count("transforms", kind, n)
        merge_samples(out.transform_samples,
                      {kind: {"repo_name": row.get("repo_name"), "path": row.get("path"), **sample}
                       for kind, sample in done.samples.items()})
        return {**row, "content": done.content, "_raw": raw}


class Rules:
    """OpenCoder's signals and thresholds (``opc_data.filtering``); stores the signals of every scored row."""

    name = "filter"

    def __init__(self, config: DataConfig, rule_filter: Any) -> None:
        from opc_data.filtering import SIGNAL_COLUMNS

        self.columns = SIGNAL_COLUMNS
        self.read_raw = config.filter_content == "raw"
        self.store_signals = config.store_signals
        self.filter = rule_filter

    def __call__(self, row: dict[str, Any], out: ShardOutput) -> dict[str, Any] | None:
        content = row.get("_raw", row["content"]) if self.read_raw else row["content"]
        frow = self.filter.filter_record({**{k: v for k, v in row.items() if k != "_raw"}, "content": content})
        if self.store_signals and frow.get("scope") is not None:
            out.signals.append({"repo_name": row["repo_name"], "path": row["path"], "blob_id": row["blob_id"],
                                "program_lang": frow["program_lang"], "doc_type": frow["doc_type"],
                                "lang": frow["lang"], "scope": frow["scope"], "keep": frow["keep"],
                                "rules_fired": list(frow["rules_fired"]),
                                **{c: frow.get(c) for c in self.columns}})
        if frow["keep"]:
            return row
        for rule in frow["rules_fired"]:
            out.funnel.count("rules", rule)
        out.reject(row, self.name, (frow.get("reject_reason") or "rules").replace(": ", ":"),
                   list(frow["rules_fired"]))
        return None


class Sampling:
    """Per-language down-sampling (the paper: Java and HTML), a deterministic draw per file."""

    name = "sampling"

    def __init__(self, config: DataConfig, seed: int) -> None:
        self.rates = config.sampling
        self.seed = seed

    def __call__(self, row: dict[str, Any], out: ShardOutput) -> dict[str, Any] | None:
        from opc_data.sampling import sampling_reason

        why = sampling_reason(_lang(row), row["blob_id"] or "", self.rates, self.seed)
        if why:
            out.reject(row, self.name, why)
            return None
        return row


class Decontamination:
    """Removes files that contain benchmark items (the evidence rule lives in ``decontamination``)."""

    name = "decontamination"

    def __init__(self, decon: Any) -> None:
        self.decon = decon
        decon.hits = []

    def __call__(self, row: dict[str, Any], out: ShardOutput) -> dict[str, Any] | None:
        why = self.decon.reason(row["content"], row)
        if why:
            out.reject(row, self.name, why)
            return None
        return row

    def finish(self, out: ShardOutput) -> None:
        out.decontamination_hits = list(self.decon.hits)


class _Tools:
    """Per-process objects built once per config: the PII redactor, the benchmark index, the rule filter."""

    _cache: dict[str, Any] = {}

    @classmethod
    def get(cls, config: DataConfig) -> dict[str, Any]:
        key = config.model_dump_json()
        if key not in cls._cache:
            from opc_data.decontamination import Decontaminator
            from opc_data.filtering import RecordFilter
            from opc_data.pii import PiiRedactor

            cls._cache.clear()
            cls._cache[key] = {
                "pii": PiiRedactor(config.transforms.pii),
                "decon": Decontaminator(config.decontamination) if config.decontamination.enabled else None,
                "filter": RecordFilter(config.filter),
            }
        return cls._cache[key]


def build_steps(config: DataConfig, decisions: dict[int, DedupDecision], seed: int) -> list[Any]:
    """The step list for one shard, in funnel order."""
    tools = _Tools.get(config)
    steps: list[Any] = [Quarantine(), License(), Dedup(decisions), Transforms(config, tools["pii"]),
                        Rules(config, tools["filter"]), Sampling(config, seed)]
    if tools["decon"] is not None:
        steps.append(Decontamination(tools["decon"]))
    return steps


def process_shard(rows: Iterable[dict[str, Any]], decisions: dict[int, DedupDecision], config: DataConfig,
                  seed: int, keys: dict[int, tuple[bytes, list[int] | None]] | None = None) -> dict[str, Any]:
    """Run the steps over one shard of prepared rows; every row ends in kept, rejected or quarantined.

    ``decisions`` maps ``_idx`` of a removed duplicate to (dup_kind, kept repo_name, kept path). Returns the
    kept / rejected / quarantined / signals rows, the shard's funnel counts, the decontamination hits, one
    before/after sample per transform kind, and (given ``keys``: ``_idx`` -> (digest, band keys) of the dedup
    pass) one dedup index row per kept record.
    """
    from opc_data.funnel_report import FunnelCounter

    out = ShardOutput(funnel=FunnelCounter())
    steps = build_steps(config, decisions, seed)
    for row in rows:
        out.funnel.seen(_lang(row), int(row.get("size") or 0))
        current: dict[str, Any] | None = row
        for step in steps:
            current = step(current, out)
            if current is None:
                break
        else:
            out.keep(current)
            if keys is not None:
                digest, band_keys = keys[int(row["_idx"])]  # every kept row passed dedup, so it has keys
                out.index.append({"repo_name": row.get("repo_name"), "path": row.get("path"), "digest": digest,
                                  "band_keys": band_keys})
    for step in steps:
        if hasattr(step, "finish"):
            step.finish(out)
    return out.as_dict()
