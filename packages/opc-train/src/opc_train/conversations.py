"""Conversation data for SFT: the usual shapes normalised into one ``messages`` schema, bad ones quarantined.

    OpenAI     {"messages": [{"role": "user", "content": ...}, {"role": "assistant", ...}]}
    ShareGPT   {"conversations": [{"from": "human", "value": ...}, {"from": "gpt", "value": ...}]}
    Alpaca     {"instruction": ..., "input": ..., "output": ...}
         │ normalise_record(row)
         ▼
    [{"role": "system"|"user"|"assistant", "content": str}, ...]      or a quarantine reason

A normalised conversation is: an optional leading system message, then user/assistant turns that
alternate, starting with ``user`` and ending with ``assistant`` (the turn the loss is on). A record
that is not that is quarantined with one of ``REASONS`` (never silently fixed): ``unknown_role``,
``empty_assistant_turn``, ``non_alternating_turns``, ``no_assistant_turn``, ``control_token_in_content``
(a literal ``<|im_start|>``/``<|im_end|>`` would forge turns once rendered), ``unknown_shape``.
``over_long`` is decided later, after tokenization and the truncation policy (``sft_data``).

Readers: JSONL(.gz) and Parquet files or folders of them (local or s3://), through opc-core storage.
The synth stage writes Parquet with a ``messages`` column plus provenance columns; those columns are
kept in ``meta``. This module does not tokenize, render or decontaminate.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from opc_core import storage
from opc_core.chat_template import IM_END, IM_START
from opc_core.errors import OpcError

REASONS = ("unknown_shape", "unknown_role", "empty_assistant_turn", "non_alternating_turns", "no_assistant_turn",
           "control_token_in_content", "over_long")

# ShareGPT speaker names (and OpenAI aliases) -> ChatML roles
_ROLE_ALIASES = {"system": "system", "user": "user", "human": "user", "assistant": "assistant", "gpt": "assistant",
                 "bot": "assistant", "model": "assistant", "chatgpt": "assistant"}


@dataclass
class Conversation:
    """One normalised conversation and where it came from (``source`` file, ``index`` row)."""

    messages: list[dict[str, str]]
    source: str
    index: int
    meta: dict[str, Any] = field(default_factory=dict)


class Quarantined(ValueError):
    """A record that is not a usable conversation; ``reason`` is one of ``REASONS``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def _turns(row: Mapping[str, Any]) -> list[tuple[Any, Any]]:
    if row.get("messages") is not None:
        return [(m.get("role"), m.get("content")) if isinstance(m, Mapping) else (None, None)
                for m in list(row["messages"])]
    if row.get("conversations") is not None:
        return [(m.get("from"), m.get("value")) if isinstance(m, Mapping) else (None, None)
                for m in list(row["conversations"])]
    if row.get("instruction") is not None and "output" in row:
        prompt = str(row["instruction"])
        extra = row.get("input")
        if isinstance(extra, str) and extra.strip():
            prompt = f"{prompt}\n\n{extra}"
        turns: list[tuple[Any, Any]] = []
        if isinstance(row.get("system"), str) and row["system"].strip():
            turns.append(("system", row["system"]))
        return [*turns, ("user", prompt), ("assistant", row["output"])]
    raise Quarantined("unknown_shape", f"no 'messages', 'conversations' or 'instruction'/'output' (keys: "
                                       f"{sorted(row)[:8]})")


def normalise_record(row: Mapping[str, Any]) -> list[dict[str, str]]:
    """The ``messages`` of one record in any supported shape; raises ``Quarantined`` with the reason."""
    messages: list[dict[str, str]] = []
    for i, (speaker, content) in enumerate(_turns(row)):
        role = _ROLE_ALIASES.get(str(speaker).lower()) if speaker is not None else None
        if role is None:
            raise Quarantined("unknown_role", f"turn {i} has role {speaker!r}")
        if not isinstance(content, str):
            content = "" if content is None else str(content)
        if IM_START in content or IM_END in content:
            raise Quarantined("control_token_in_content", f"turn {i} ({role}) contains a ChatML control token")
        messages.append({"role": role, "content": content})
    body = messages[1:] if messages and messages[0]["role"] == "system" else messages
    if not body:
        raise Quarantined("no_assistant_turn", "no user/assistant turns")
    for i, m in enumerate(body):
        expected = "user" if i % 2 == 0 else "assistant"
        if m["role"] != expected:
            raise Quarantined("non_alternating_turns",
                              f"turn {i + len(messages) - len(body)} is {m['role']!r}, expected {expected!r}")
        if expected == "assistant" and not m["content"].strip():
            raise Quarantined("empty_assistant_turn", f"turn {i + len(messages) - len(body)} is empty")
    if body[-1]["role"] != "assistant":
        raise Quarantined("no_assistant_turn", "the last turn is not the assistant's")
    return messages


def _read_rows(uri: str) -> Iterator[dict[str, Any]]:
    """Rows of one JSONL(.gz) or Parquet file (through the one JSONL and Parquet readers)."""
    from opc_core.dataset import read_file
    from opc_core.jsonl import iter_jsonl_bytes

    if uri.endswith(".parquet"):
        yield from read_file(uri).to_pylist()
        return
    for n, row in iter_jsonl_bytes(storage.read_bytes(uri), uri):
        if not isinstance(row, dict):
            raise OpcError(f"line {n} is a JSON {type(row).__name__}, not an object", where=uri)
        yield row


def conversation_files(uri: str) -> list[str]:
    """A file, or every ``*.jsonl``, ``*.jsonl.gz`` and ``*.parquet`` under a folder (sorted)."""
    if not storage.exists(uri):
        raise OpcError("conversation data not found", where=uri, hint="fix the path in the recipe's sft section")
    if uri.endswith((".jsonl", ".jsonl.gz", ".parquet", ".json")):
        return [uri]
    found = [storage.join(uri, rel) for rel in storage.list_files(uri)
             if rel.endswith((".jsonl", ".jsonl.gz", ".parquet")) and not rel.split("/")[-1].startswith(("_", "."))]
    if not found:
        raise OpcError("no .jsonl, .jsonl.gz or .parquet files here", where=uri)
    return found


def read_conversations(uri: str, quarantine: list[dict[str, Any]]) -> Iterator[Conversation]:
    """Normalised conversations from a file or folder; malformed ones go to ``quarantine`` with the reason."""
    for path in conversation_files(uri):
        for index, row in enumerate(_read_rows(path)):
            try:
                messages = normalise_record(row)
            except Quarantined as q:
                quarantine.append({"source": path, "index": index, "reason": q.reason, "detail": q.detail})
                continue
            meta = {k: v for k, v in row.items() if k not in ("messages", "conversations", "instruction", "input",
                                                             "output", "system")
                    and isinstance(v, str | int | float | bool)}
            yield Conversation(messages, path, index, meta)
