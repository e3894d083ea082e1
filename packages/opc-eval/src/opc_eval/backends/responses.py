"""Responses produced elsewhere, read from a file: generate with any provider, import the answers.

    make_backend("responses", path="answers.jsonl")                        # prompt -> response pairs
    make_backend("responses", path="batch_output.jsonl", requests="batch_input.jsonl")   # OpenAI batch job

Accepted JSONL(.gz) rows (one file may mix them):
- ``{"prompt": str, "response": str}`` or ``"responses": [str, ...]`` -- a completion prompt;
- ``{"messages": [{role, content}, ...], "response"|"responses": ...}`` -- a chat conversation;
- the output of an OpenAI-style batch job, ``{"custom_id": ..., "response": {"status_code": 200, "body":
  {"choices": [...]}}}``, joined by ``custom_id`` to the batch *input* file given as ``requests``
  (``{"custom_id": ..., "body": {"messages": [...]}}`` or ``{"body": {"prompt": ...}}``). Rows whose
  status is not 2xx or that carry an ``error`` are counted in ``stats["failed_rows"]`` and give no answer.

A request is looked up by its exact prompt text (chat: the messages as canonical JSON); asking for
``n`` answers returns the first ``n`` stored ones. A prompt with no stored answer returns ``[]`` (or
fewer than ``n``) and is counted in ``stats["missing"]``: the caller decides whether that is an
error (``missing="error"`` raises instead). Sampling parameters are ignored: the answers are what
they are. Nothing is sent anywhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from opc_core.errors import OpcError
from opc_eval.backends.base import Backend, GenParams


def prompt_key(prompt: str | list[dict[str, str]]) -> str:
    """The lookup key of a completion prompt (its text) or a conversation (canonical JSON)."""
    if isinstance(prompt, str):
        return "p:" + prompt
    return "m:" + json.dumps([{"role": m.get("role"), "content": m.get("content")} for m in prompt],
                             ensure_ascii=False, sort_keys=True)


def _rows(path: str) -> list[tuple[int, dict[str, Any]]]:
    from opc_core.jsonl import iter_jsonl

    p = Path(path)
    if not p.exists():
        raise OpcError("responses file not found", where=str(p), hint="give a JSONL file of prompt -> response pairs")
    out = []
    for n, row in iter_jsonl(p, "responses file"):
        if not isinstance(row, dict):
            raise OpcError(f"line {n} is not a JSON object", where=str(p))
        out.append((n, row))
    return out


def _texts(choices: list[dict[str, Any]]) -> list[str]:
    texts = []
    for c in sorted(choices, key=lambda c: c.get("index", 0)):
        msg = c.get("message")
        texts.append((msg or {}).get("content") if isinstance(msg, dict) else c.get("text"))
    return [t or "" for t in texts]


class ResponsesBackend(Backend):
    name = "responses"

    def __init__(self, path: str, requests: str | None = None, missing: str = "empty") -> None:
        if missing not in ("empty", "error"):
            raise OpcError(f"missing must be 'empty' or 'error', not {missing!r}")
        self.path = path
        self.missing = missing
        self.answers: dict[str, list[str]] = {}
        self.stats = {"rows": 0, "failed_rows": 0, "missing": 0, "served": 0}
        inputs: dict[str, str] = {}
        if requests:
            for n, row in _rows(requests):
                body = row.get("body") or {}
                prompt = body.get("messages") if "messages" in body else body.get("prompt")
                if row.get("custom_id") is None or prompt is None:
                    raise OpcError(f"line {n}: a batch request needs custom_id and body.messages or body.prompt",
                                   where=requests)
                inputs[str(row["custom_id"])] = prompt_key(prompt)
        for n, row in _rows(path):
            self.stats["rows"] += 1
            if "custom_id" in row and isinstance(row.get("response"), dict | None):
                resp = row.get("response") or {}
                if row.get("error") or not 200 <= int(resp.get("status_code", 200)) < 300:
                    self.stats["failed_rows"] += 1
                    continue
                key = inputs.get(str(row["custom_id"]))
                if key is None:
                    raise OpcError(f"line {n}: custom_id {row['custom_id']!r} is not in the requests file",
                                   where=path, hint="give the batch job's input file as `requests`")
                self.answers.setdefault(key, []).extend(_texts((resp.get("body") or {}).get("choices") or []))
                continue
            if "messages" in row:
                key = prompt_key(row["messages"])
            elif isinstance(row.get("prompt"), str):
                key = prompt_key(row["prompt"])
            else:
                raise OpcError(f"line {n}: a row needs `prompt` (str) or `messages`, or a batch `custom_id`",
                               where=path)
            answers = row.get("responses", [row.get("response")] if "response" in row else None)
            if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
                raise OpcError(f"line {n}: `response` must be a string (or `responses` a list of strings)", where=path)
            self.answers.setdefault(key, []).extend(answers)

    def _lookup(self, key: str, n: int) -> list[str]:
        found = self.answers.get(key, [])[:n]
        if len(found) < n:
            self.stats["missing"] += 1
            if self.missing == "error":
                raise OpcError(f"no stored response for a prompt ({key[2:80]!r}...)", where=self.path,
                               hint="generate answers for every prompt, or use missing: empty")
        self.stats["served"] += len(found)
        return found

    def complete(self, prompts: list[str], params: GenParams) -> list[list[str]]:
        return [self._lookup(prompt_key(p), params.n) for p in prompts]

    def chat(self, conversations: list[list[dict[str, str]]], params: GenParams) -> list[list[str]]:
        return [self._lookup(prompt_key(c), params.n) for c in conversations]
