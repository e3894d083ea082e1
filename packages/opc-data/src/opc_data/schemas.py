"""The data stage's record schemas: what ``kept/``, ``rejected/``, ``quarantined/``, ``signals/`` and the
engines' input shards hold (docs/interfaces.md documents the same columns for users).

What it does NOT do: read or write anything; the engines write through ``opc_core.dataset``.
"""

from __future__ import annotations

import pyarrow as pa

OUTPUT_FIELDS: tuple[str, ...] = (
    "repo_name", "path", "content", "program_lang", "doc_type", "license", "blob_id", "size", "stars",
    "commit_date", "commit_sha", "src_encoding", "source",
)
_BASE = [
    pa.field("repo_name", pa.string()), pa.field("path", pa.string()), pa.field("content", pa.string()),
    pa.field("program_lang", pa.string()), pa.field("doc_type", pa.string()), pa.field("license", pa.string()),
    pa.field("blob_id", pa.string()), pa.field("size", pa.int64()), pa.field("stars", pa.int64()),
    pa.field("commit_date", pa.string()), pa.field("commit_sha", pa.string()),
    pa.field("src_encoding", pa.string()), pa.field("source", pa.string()),
]
KEPT_SCHEMA = pa.schema(_BASE)
REJECTED_SCHEMA = pa.schema([
    *_BASE, pa.field("reject_reason", pa.string()), pa.field("rules_fired", pa.list_(pa.string())),
    pa.field("duplicate_of_repo_name", pa.string()), pa.field("duplicate_of_path", pa.string()),
])
QUARANTINED_SCHEMA = pa.schema([*_BASE, pa.field("is_binary", pa.bool_()), pa.field("error", pa.string())])
# input shards: the raw record plus what the cheap first pass decided
PREPARED_SCHEMA = pa.schema([
    pa.field("_idx", pa.int64()), *_BASE, pa.field("is_binary", pa.bool_()),
    pa.field("quarantine_reason", pa.string()), pa.field("license_reason", pa.string()),
])


def signals_schema() -> pa.Schema:
    from opc_data.filtering import SIGNAL_COLUMNS

    return pa.schema([
        pa.field("repo_name", pa.string()), pa.field("path", pa.string()), pa.field("blob_id", pa.string()),
        pa.field("program_lang", pa.string()), pa.field("doc_type", pa.string()), pa.field("lang", pa.string()),
        pa.field("scope", pa.string()), pa.field("keep", pa.bool_()), pa.field("rules_fired", pa.list_(pa.string())),
        *[pa.field(c, pa.float64()) for c in SIGNAL_COLUMNS],
    ])

# dedup_index/: one row per kept record, what a later incremental run dedups its new records against
INDEX_SCHEMA = pa.schema([
    pa.field("repo_name", pa.string()), pa.field("path", pa.string()), pa.field("digest", pa.binary()),
    pa.field("band_keys", pa.list_(pa.int64())), pa.field("kept_file", pa.string()),
])
# _work/keys/: the dedup keys of the eligible records of one input shard (phase B -> phase C and B')
KEYS_SCHEMA = pa.schema([
    pa.field("_idx", pa.int64()), pa.field("digest", pa.binary()), pa.field("band_keys", pa.list_(pa.int64())),
])
