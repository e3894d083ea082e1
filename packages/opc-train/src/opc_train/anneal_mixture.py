"""The annealing mixture: documents of several stage outputs, tokenized with the pretraining tokenizer,
sampled to a token budget per source, shuffled and packed into token shards.

    source (stage output + sub-folder in the data schema: repo_name, path, content, [program_lang, doc_type])
      │ encode_documents (the pretraining tokenizer: same ids as pretraining)   ─▶ natural tokens
      │ budget: ``tokens`` (absolute) or ``weight`` x ``total_tokens``
      │ epochs = budget / natural: floor(epochs) full copies + a seeded subset of documents for the rest
      ▼
    train/ token shards (source index per document) ─▶ planned vs written tokens and epochs per source

OpenCoder's anneal mix [P, Sec. 3.2]: 84.21B original-distribution tokens, 12.44B algorithmic corpus,
2.71B synthetic snippets, 0.91B code textbooks. A source repeated 10 times or more is flagged
(``REPEAT_WARNING``): the paper repeats its high-quality sets a few times at most. ``consumed_tokens``
counts, per source, the target tokens of the windows a training run actually drew (the loader's order
replayed), which is what the manifest reports next to the plan. This module does not train.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from opc_core import dataset, storage
from opc_core.errors import OpcError

REPEAT_WARNING = 10.0


class AnnealSource(BaseModel):
    """One slice of the anneal mix: a dataset in the data stage's schema inside a stage output."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    input: str = Field(description="the stage whose output holds it: data, recall, algorithmic, synth, ...")
    subdir: str = Field("kept", description="the dataset folder inside that output (a synth set: its name)")
    languages: list[str] | None = None
    doc_types: list[str] | None = None
    tokens: int | None = Field(None, ge=1, description="token budget")
    weight: float | None = Field(None, gt=0, description="share of total_tokens (instead of tokens)")

    @model_validator(mode="after")
    def _one_budget(self) -> AnnealSource:
        if (self.tokens is None) == (self.weight is None):
            raise ValueError(f"source {self.name!r}: give exactly one of tokens or weight")
        return self

    def matches(self, lang: str | None, doc_type: str | None) -> bool:
        if self.languages is not None and (lang or "").lower() not in {x.lower() for x in self.languages}:
            return False
        return self.doc_types is None or (doc_type or "") in self.doc_types


def planned_tokens(sources: Sequence[AnnealSource], total_tokens: int | None) -> dict[str, int]:
    """Each source's budget: its ``tokens``, or its weight's share of what ``total_tokens`` leaves."""
    fixed = sum(s.tokens or 0 for s in sources)
    weights = sum(s.weight or 0 for s in sources)
    if weights and total_tokens is None:
        raise OpcError("anneal sources with a weight need total_tokens", hint="set stages.anneal.total_tokens")
    rest = (total_tokens or fixed) - fixed
    if weights and rest <= 0:
        raise OpcError(f"total_tokens {total_tokens} leaves nothing for the weighted sources after {fixed} fixed tokens")
    return {s.name: s.tokens if s.tokens is not None else round(rest * (s.weight or 0) / weights) for s in sources}


def _docs(uri: str, src: AnnealSource) -> Iterator[str]:
    if not storage.exists(uri):
        raise OpcError(f"anneal source {src.name!r}: no dataset here", where=uri,
                       hint="check the source's input stage and subdir")
    columns = ["content"]
    probe = next(dataset.read_batches(uri, batch_size=1), None)
    names = set(probe.schema.names) if probe is not None else set()
    if "content" not in names:
        raise OpcError(f"anneal source {src.name!r}: the dataset has no 'content' column (has {sorted(names)})",
                       where=uri, hint="anneal sources are in the data stage's schema (docs/interfaces.md)")
    columns += [c for c in ("program_lang", "doc_type") if c in names]
    for row in dataset.read_rows(uri, columns=columns):
        if row["content"] and src.matches(row.get("program_lang"), row.get("doc_type")):
            yield row["content"]


def build_mixture(sources: Sequence[AnnealSource], source_uris: dict[str, str], tok, fingerprint,
                  total_tokens: int | None, out_uri: str, scratch: Path, seed: int,
                  shard_tokens: int = 1 << 27) -> dict[str, Any]:
    """Write ``out_uri`` (token shards) and return per-source accounting (natural, planned, written, epochs)."""
    from opc_train.token_shards import TokenShardWriter
    from opc_train.tokenizer import encode_documents

    plan = planned_tokens(sources, total_tokens)
    scratch.mkdir(parents=True, exist_ok=True)
    streams = []
    for i, src in enumerate(sources):
        path = scratch / f"anneal-src-{i}.bin"
        lengths: list[int] = []
        with open(path, "wb") as f:
            batch: list[str] = []
            for text in [*_docs(source_uris[src.name], src), None]:
                if text is not None:
                    batch.append(text)
                if batch and (text is None or len(batch) >= 256):
                    for ids in encode_documents(tok, batch):
                        np.asarray(ids, dtype=fingerprint.dtype).tofile(f)
                        lengths.append(len(ids))
                    batch = []
        if not lengths:
            raise OpcError(f"anneal source {src.name!r} has no documents", where=source_uris[src.name],
                           hint="check its filters (languages, doc_types) and that the upstream stage kept data")
        tokens = np.memmap(path, dtype=fingerprint.dtype, mode="r")
        streams.append((tokens, np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)])))
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 0xA22E])))
    entries, report = [], {}
    for i, (src, (_, offsets)) in enumerate(zip(sources, streams, strict=True)):
        natural = int(offsets[-1])
        epochs = plan[src.name] / natural
        n_docs = offsets.size - 1
        copies = np.full(n_docs, math.floor(epochs), dtype=np.int64)
        remainder = plan[src.name] - math.floor(epochs) * natural  # tokens still to take from a partial copy
        if remainder > 0:
            order = rng.permutation(n_docs)
            take = np.searchsorted(np.cumsum(np.diff(offsets)[order]), remainder) + 1
            copies[order[:take]] += 1
        written = int(np.sum(copies * np.diff(offsets)))
        entries.append(np.stack([np.full(int(copies.sum()), i, dtype=np.int64),
                                 np.repeat(np.arange(n_docs, dtype=np.int64), copies)], axis=1))
        report[src.name] = {"input": src.input, "subdir": src.subdir, "natural_tokens": natural,
                            "planned_tokens": plan[src.name], "written_tokens": written,
                            "epochs": round(written / natural, 4), "docs": n_docs,
                            "repeat_warning": written / natural >= REPEAT_WARNING}
    order = np.concatenate(entries)
    order = order[rng.permutation(len(order))]
    writer = TokenShardWriter(out_uri, fingerprint, [s.name for s in sources], shard_tokens)
    for src_i, doc in order:
        tokens, offsets = streams[src_i]
        writer.add(tokens[offsets[doc]:offsets[doc + 1]], int(src_i))
    writer.close()
    return report


def consumed_tokens(loader, n_batches: int) -> dict[str, int]:
    """Target tokens per source in the next ``n_batches`` batches of a fresh ``TokenBatchLoader`` (the order a
    run drew: windows of seq_len + 1 tokens, stride seq_len, targets = positions 1..seq_len)."""
    shards, seq_len = loader.windows.shards, loader.seq_len
    window_ids = np.concatenate([loader.next_window_ids() for _ in range(n_batches)]) if n_batches else np.zeros(0)
    starts = loader.windows.starts
    counts = dict.fromkeys(shards.sources, 0)
    shard_of = np.searchsorted(starts, window_ids, side="right") - 1
    for s in np.unique(shard_of):
        shard = shards.shards[int(s)]
        offsets, srcs = np.asarray(shard.offsets), np.asarray(shard.sources)
        begin = (window_ids[shard_of == s] - starts[s]) * seq_len + 1
        end = begin + seq_len
        doc_len = np.diff(offsets)
        for k, name in enumerate(shards.sources):
            # tokens of source k before position x: whole documents of k before x's document, plus x's part
            before = np.concatenate([[0], np.cumsum(np.where(srcs == k, doc_len, 0))])

            def upto(x, before=before, k=k, offsets=offsets, srcs=srcs):
                d = np.clip(np.searchsorted(offsets, x, side="right") - 1, 0, len(srcs) - 1)
                return before[d] + np.where(srcs[d] == k, x - offsets[d], 0)

            counts[name] += int(np.sum(upto(end) - upto(begin)))
    return counts


