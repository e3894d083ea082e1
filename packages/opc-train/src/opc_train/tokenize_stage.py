"""The ``tokenize`` stage: cleaned documents -> BPE tokenizer -> packed token shards, train and validation.

    data/kept/*.parquet (repo_name, path, content, program_lang, doc_type, ...)   [+ extra inputs' kept/]
      │ 1. scan: bytes per repository ─▶ validation repositories (hash order, ~val_fraction of bytes)
      │ 2. train a byte-level BPE on a seeded sample of *training* documents only
      │ 3. encode every document as [BOS] doc [EOS]; val docs ─▶ val/ ; train docs ─▶ scratch, per source
      │ 4. mixture: each source's training tokens are sampled to its weight (repeat or subsample docs,
      │    seeded), then all documents are shuffled by seed and packed ─▶ train/
      ▼
    <out>/tokenizer/  train/  val/  tokens_meta.json   (layout: docs/interfaces.md, format: token_shards)

Mixture. A source is a named slice of an input dataset (``input`` role, optional ``languages`` /
``doc_types`` filters); a document belongs to the first source it matches. ``weight`` is the source's
target share of *training tokens* (normalised over sources). OpenCoder pretrained on ~90% raw code and
~10% code-related web text; the web part comes from the recall stage, which a recipe adds as an extra
input (``extra_inputs: {web: recall}`` plus a source with ``input: web``). A source's multiplier
(target / natural tokens) above ``max_repeat`` is refused; an empty source is reported, not invented.

Validation. Whole repositories are held out, so no file (and no near-copy inside a repository) is in
both splits; validation data is never mixture-sampled, it keeps its natural distribution.

Incremental (a retrain extending a previous tokenize output, ``ctx.previous``): the previous tokenizer is
reused byte for byte (a model continued from the previous weights must read the same ids), only inputs whose
fingerprint differs from the previous version's are read (the data stage's new records; an input carried
over unchanged, e.g. recall, was tokenized already), and the new documents become new shards: ``train/`` and
``val/`` here hold the new tokens, ``tokens_meta.json`` records the shards this one appends to. The
validation split is drawn from the new repositories (from one new repository none can be held out: the
previous version's validation shards are copied instead, so the continued model is measured on held-out data).

Every input record is counted: kept (in train or val), or rejected with a reason (``empty_content``,
``no_mixture_source``, ``mixture_subsample``). This stage does not filter or deduplicate (the data stage
did) and does not shuffle windows (the data loader does, per epoch).
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from opc_core import storage
from opc_core.errors import OpcError
from opc_core.manifest import Counts
from opc_core.stage import StageContext, StageResult, StageSpec

DOC_COLUMNS = ["repo_name", "path", "content", "program_lang", "doc_type"]


class MixtureSource(BaseModel):
    """One slice of the pretraining mixture, with its target share of training tokens."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    input: str = "data"
    languages: list[str] | None = None  # program_lang values, case-insensitive; None = any
    doc_types: list[str] | None = None  # doc_type values; None = any
    weight: float = Field(1.0, ge=0)

    def matches(self, role: str, lang: str | None, doc_type: str | None) -> bool:
        if role != self.input:
            return False
        if self.languages is not None and (lang or "").lower() not in {x.lower() for x in self.languages}:
            return False
        return self.doc_types is None or (doc_type or "") in self.doc_types


class TokenizeConfig(BaseModel):
    """Tokenizer and token-data settings (``stages.tokenize`` in a recipe)."""

    model_config = ConfigDict(extra="forbid")
    vocab_size: int = Field(96_640, ge=300, description="BPE vocabulary incl. special tokens (OpenCoder: 96,640)")
    min_frequency: int = Field(2, ge=1, description="a merge needs at least this many occurrences")
    tokenizer_sample_bytes: int = Field(500_000_000, ge=1, description="text budget for training the BPE")
    val_fraction: float = Field(0.01, gt=0, lt=0.5, description="share of bytes held out, whole repositories")
    mixture: list[MixtureSource] = Field(default_factory=lambda: [MixtureSource(name="code", weight=1.0)])
    extra_inputs: dict[str, str] = Field(default_factory=dict, description="role -> upstream stage with kept/")
    target_train_tokens: int | None = Field(None, ge=1, description="None = the natural total of all sources")
    max_repeat: float = Field(4.0, ge=1.0, description="refuse upsampling a source more than this")
    shard_tokens: int = Field(1 << 27, ge=1024, description="tokens per shard file")
    batch_rows: int = Field(1024, ge=1)

    @model_validator(mode="after")
    def _sources_are_consistent(self) -> TokenizeConfig:
        names = [s.name for s in self.mixture]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"mixture needs at least one source and unique names (got {names})")
        roles = {"data", *self.extra_inputs}
        bad = [s.name for s in self.mixture if s.input not in roles]
        if bad:
            raise ValueError(f"mixture source(s) {bad} read an input role not in {sorted(roles)}; add it to extra_inputs")
        if sum(s.weight for s in self.mixture) <= 0:
            raise ValueError("mixture weights must not all be 0")
        return self


def _input_roles(cfg: TokenizeConfig) -> dict[str, str]:
    return {"data": "data", **cfg.extra_inputs}


def _h(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8")).digest()[:8], "big")


def _batches(dataset_uri: str, batch_rows: int, columns: list[str]) -> Iterator[dict[str, list]]:
    from opc_core.dataset import read_batches

    for batch in read_batches(dataset_uri, batch_size=batch_rows):
        names = batch.schema.names
        missing = [c for c in ("repo_name", "path", "content") if c not in names]
        if missing:
            raise OpcError(f"input dataset lacks column(s) {missing}", where=dataset_uri,
                           hint="the tokenize stage reads the data stage's kept/ dataset (docs/interfaces.md)")
        yield {c: (batch.column(c).to_pylist() if c in names else [None] * batch.num_rows) for c in columns}


def choose_val_repos(repo_bytes: dict[str, int], val_fraction: float, seed: int) -> set[str]:
    """Whole repositories in seeded hash order until ~``val_fraction`` of the bytes; >= 1 repo each side."""
    if len(repo_bytes) < 2:
        raise OpcError(f"cannot hold out a validation repository: the corpus has {len(repo_bytes)} repository",
                       hint="tokenize a corpus with at least two repositories")
    total = sum(repo_bytes.values())
    val: set[str] = set()
    held = 0
    for repo in sorted(repo_bytes, key=lambda r: (_h(seed, "val", r), r)):
        if val and (held >= val_fraction * total or len(val) == len(repo_bytes) - 1):
            break
        val.add(repo)
        held += repo_bytes[repo]
    return val


class _SourceStream:
    """Training tokens of one source in a local scratch file (+ per-document lengths and languages)."""

    def __init__(self, path: Path, dtype: str):
        import numpy as np

        self.path, self.dtype, self.np = path, dtype, np
        self.file = open(path, "wb")  # noqa: SIM115 - closed in finish()
        self.lengths: list[int] = []
        self.langs: list[str] = []

    def add(self, ids: list[int], lang: str) -> None:
        self.np.asarray(ids, dtype=self.dtype).tofile(self.file)
        self.lengths.append(len(ids))
        self.langs.append(lang)

    def finish(self):
        self.file.close()
        tokens = self.np.memmap(self.path, dtype=self.dtype, mode="r") if self.lengths else self.np.zeros(0, self.dtype)
        offsets = self.np.concatenate([[0], self.np.cumsum(self.lengths, dtype=self.np.int64)])
        return tokens, offsets


def _multipliers(cfg: TokenizeConfig, natural: dict[str, int], log,
                 done_roles: frozenset[str] = frozenset()) -> tuple[dict[str, float], list[str]]:
    active = {s.name: s.weight for s in cfg.mixture if s.weight > 0 and natural.get(s.name, 0) > 0}
    missing = [s.name for s in cfg.mixture if s.weight > 0 and natural.get(s.name, 0) == 0]
    if done_roles:
        log.info("tokenize: mixture source(s) %s read input(s) tokenized by the previous version",
                 [s.name for s in cfg.mixture if s.input in done_roles])
    if [s for s in missing if next(m for m in cfg.mixture if m.name == s).input not in done_roles]:
        log.warning("mixture source(s) %s have no training tokens in the inputs; shares are renormalised", missing)
    if not active:
        raise OpcError("no mixture source has training tokens", hint="check the mixture filters and the inputs")
    total_w = sum(active.values())
    target_total = cfg.target_train_tokens or sum(natural[n] for n in active)
    mult = {}
    for s in cfg.mixture:
        if s.name not in active:
            mult[s.name] = 0.0
            continue
        m = active[s.name] / total_w * target_total / natural[s.name]
        if m > cfg.max_repeat:
            raise OpcError(
                f"mixture source {s.name!r} would be repeated {m:.2f}x to reach its weight (max_repeat {cfg.max_repeat})",
                hint="lower its weight or target_train_tokens, raise max_repeat, or add data for it",
            )
        mult[s.name] = m
    return mult, missing


def run(cfg: TokenizeConfig, ctx: StageContext) -> StageResult:
    import numpy as np

    from opc_core.dataset import count_rows
    from opc_core.progress import track
    from opc_train.token_shards import META_NAME, TokenFingerprint, TokenShardWriter, read_split_index
    from opc_train.tokenizer import encode_documents, load_tokenizer, save_tokenizer, train_tokenizer

    roles = _input_roles(cfg)
    previous = ctx.previous
    done_roles = frozenset(
        r for r in roles if previous is not None and r in previous.inputs
        and previous.inputs[r].fingerprint == ctx.inputs[r].fingerprint
    )
    datasets = {role: storage.join(ctx.input_uri(role), "kept") for role in roles if role not in done_roles}
    if done_roles:
        ctx.log.info("tokenize: input(s) %s are unchanged since %s: already tokenized there", sorted(done_roles),
                     previous.key if previous else "")
    names = [s.name for s in cfg.mixture]

    def source_of(role: str, lang: str | None, doc_type: str | None) -> int | None:
        for i, s in enumerate(cfg.mixture):
            if s.matches(role, lang, doc_type):
                return i
        return None

    # 1. scan: bytes per repository (for the split) and per split (for the tokenizer sample)
    repo_bytes: Counter[str] = Counter()
    for role, ds in datasets.items():
        for b in _batches(ds, cfg.batch_rows, ["repo_name", "content"]):
            for repo, content in zip(b["repo_name"], b["content"], strict=True):
                repo_bytes[f"{role}:{repo}"] += len((content or "").encode("utf-8"))
    reuse_val = previous is not None and len(repo_bytes) < 2
    if reuse_val:  # one new repository cannot be split: validate on the previous version's held-out data
        ctx.log.warning("tokenize: the new data has %d repository, too few to hold one out; the validation split "
                        "is the previous version's (%s)", len(repo_bytes), previous.key)
        val_repos: set[str] = set()
    else:
        val_repos = choose_val_repos(dict(repo_bytes), cfg.val_fraction, ctx.seed)
    train_bytes = sum(v for r, v in repo_bytes.items() if r not in val_repos)
    sample_p = min(1.0, cfg.tokenizer_sample_bytes / max(1, train_bytes))
    ctx.log.info("tokenize: %d repositories, %d held out for validation; BPE sample %.1f%% of %d training bytes",
                 len(repo_bytes), len(val_repos), 100 * sample_p, train_bytes)

    # 2. tokenizer, trained on training documents only (or the previous version's, reused)
    def sample_texts() -> Iterator[str]:
        for role, ds in datasets.items():
            for b in _batches(ds, cfg.batch_rows, DOC_COLUMNS):
                for repo, path, content, lang, dt in zip(*(b[c] for c in DOC_COLUMNS), strict=True):
                    if not content or f"{role}:{repo}" in val_repos or source_of(role, lang, dt) is None:
                        continue
                    if sample_p >= 1.0 or _h(ctx.seed, "bpe", repo, path) < sample_p * 2**64:
                        yield content

    if previous is not None:
        tok = load_tokenizer(previous.artifact("tokenizer"))
        ctx.log.info("tokenize: reusing the tokenizer of %s (appending to its shards)", previous.key)
    else:
        tok = train_tokenizer(sample_texts(), cfg.vocab_size, cfg.min_frequency)
    fp = TokenFingerprint.of_tokenizer(tok)
    save_tokenizer(tok, storage.join(ctx.output_uri, "tokenizer"))
    ctx.log.info("tokenize: tokenizer with %d tokens (asked %d), hash %s", fp.vocab_size, cfg.vocab_size,
                 fp.tokenizer_hash[:12])

    # 3. encode: validation straight to val/, training to per-source scratch streams
    val_writer = TokenShardWriter(storage.join(ctx.output_uri, "val"), fp, names, cfg.shard_tokens)
    streams = [_SourceStream(ctx.scratch / f"src-{i}.bin", fp.dtype) for i in range(len(names))]
    rejected: Counter[str] = Counter()
    records_in = 0
    val_docs = 0
    lang_tokens: dict[str, Counter[str]] = defaultdict(Counter)
    docs_in: Counter[str] = Counter()
    for role, ds in datasets.items():
        n_batches = -(-count_rows(ds) // cfg.batch_rows)  # a total for the progress line
        for b in track(_batches(ds, cfg.batch_rows, DOC_COLUMNS), f"tokenize {role}", total=n_batches, unit="batches"):
            rows = list(zip(*(b[c] for c in DOC_COLUMNS), strict=True))
            records_in += len(rows)
            todo = []
            for repo, _path, content, lang, dt in rows:
                src = source_of(role, lang, dt)
                if not content:
                    rejected["empty_content"] += 1
                elif src is None:
                    rejected["no_mixture_source"] += 1
                else:
                    todo.append((f"{role}:{repo}" in val_repos, src, lang or "unknown", content))
            for (is_val, src, lang, _), ids in zip(todo, encode_documents(tok, [t[3] for t in todo]), strict=True):
                docs_in[names[src]] += 1
                if is_val:
                    val_writer.add(ids, src)
                    val_docs += 1
                    lang_tokens[lang]["val"] += len(ids)
                else:
                    streams[src].add(ids, lang)
                    lang_tokens[lang]["natural_train"] += len(ids)
    val_index = val_writer.close({"repos": len(val_repos)})
    if reuse_val:
        val_uri = storage.join(ctx.output_uri, "val")
        storage.remove(val_uri)
        src = previous.artifact("val")
        for rel in storage.list_files(src):
            storage.write_bytes_atomic(storage.join(val_uri, rel), storage.read_bytes(storage.join(src, rel)))
        val_index = read_split_index(val_uri)
    if val_index["tokens"] == 0:
        raise OpcError("the validation split is empty", where=ctx.output_uri, hint="raise val_fraction")

    # 4. mixture sampling + seeded document shuffle, packed into train/
    finished = [s.finish() for s in streams]
    natural = {names[i]: int(offsets[-1]) for i, (_, offsets) in enumerate(finished)}
    mult, missing = _multipliers(cfg, natural, ctx.log, done_roles)
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([ctx.seed, 0x70CE])))
    entries = []
    subsampled = 0
    for i, (_, offsets) in enumerate(finished):
        n_docs = offsets.size - 1
        m = mult[names[i]]
        copies = np.full(n_docs, math.floor(m), dtype=np.int64)
        copies += rng.random(n_docs) < (m - math.floor(m))
        subsampled += int((copies == 0).sum())
        doc_ids = np.repeat(np.arange(n_docs, dtype=np.int64), copies)
        entries.append(np.stack([np.full(doc_ids.size, i, dtype=np.int64), doc_ids], axis=1))
    order = np.concatenate(entries) if entries else np.zeros((0, 2), dtype=np.int64)
    order = order[rng.permutation(len(order))]
    rejected["mixture_subsample"] += subsampled
    train_writer = TokenShardWriter(storage.join(ctx.output_uri, "train"), fp, names, cfg.shard_tokens)
    for src, doc in track(order, "pack train", total=len(order)):
        tokens, offsets = finished[src]
        train_writer.add(tokens[offsets[doc] : offsets[doc + 1]], int(src))
        lang_tokens[streams[src].langs[doc]]["train"] += int(offsets[doc + 1] - offsets[doc])
    train_index = train_writer.close({"repos": len(repo_bytes) - len(val_repos)})
    if train_index["tokens"] == 0:
        raise OpcError("the training split is empty", where=ctx.output_uri)

    kept = val_docs + sum(len(s.lengths) for s in streams) - subsampled
    counts = Counts.model_validate({"in": records_in, "kept": kept, "rejected": sum(rejected.values())})
    total_train = train_index["tokens"]
    weights = {s.name: s.weight for s in cfg.mixture}
    sum_w = sum(w for n, w in weights.items() if n not in missing) or 1.0
    sources = {
        n: {
            "docs": docs_in[n],
            "natural_train_tokens": natural[n],
            "train_tokens": train_index["source_tokens"][n],
            "val_tokens": val_index["source_tokens"][n],
            "weight": weights[n],
            "target_share": (weights[n] / sum_w) if n not in missing else 0.0,
            "achieved_share": train_index["source_tokens"][n] / total_train,
            "multiplier": mult[n],
        }
        for n in names
    }
    meta: dict[str, Any] = {
        **fp.to_dict(),
        "fingerprint": fp.to_dict(),
        "vocab_size_requested": cfg.vocab_size,
        "source_tokens": {n: sources[n]["train_tokens"] for n in names},
        "splits": {
            "train": {k: train_index[k] for k in ("tokens", "docs", "repos", "source_tokens")},
            "val": {k: val_index[k] for k in ("tokens", "docs", "repos", "source_tokens")},
        },
        "sources": sources,
        "languages": {lang: dict(c) for lang, c in sorted(lang_tokens.items())},
        "missing_sources": missing,
    }
    incremental = None
    if previous is not None:
        before = previous.metrics.get("incremental", {}).get("train_tokens_total", previous.metrics["train_tokens"])
        incremental = {
            "previous_key": previous.key,
            "tokenizer_from": previous.metrics.get("incremental", {}).get("tokenizer_from", previous.key),
            "new_train_tokens": total_train, "new_val_tokens": val_index["tokens"],
            "previous_train_tokens_total": before, "train_tokens_total": before + total_train,
            "already_tokenized_inputs": sorted(done_roles),
            # the shards of every version, oldest first: what a run over all the data would read
            "train_shards": [*previous.metrics.get("incremental", {}).get(
                "train_shards", [{"key": previous.key, "tokens": previous.metrics["train_tokens"]}]),
                {"key": ctx.key, "tokens": total_train}],
        }
        meta["appends_to"] = {k: v for k, v in incremental.items() if k != "already_tokenized_inputs"}
    storage.write_json_atomic(storage.join(ctx.output_uri, META_NAME), meta)
    metrics = {
        "tokenizer_hash": fp.tokenizer_hash,
        "vocab_size": fp.vocab_size,
        "dtype": fp.dtype,
        "train_tokens": total_train,
        "val_tokens": val_index["tokens"],
        "train_docs": train_index["docs"],
        "val_docs": val_index["docs"],
        "val_repos": len(val_repos),
        "train_repos": len(repo_bytes) - len(val_repos),
        "sources": sources,
        "languages": meta["languages"],
        "rejected": dict(rejected),
    }
    summary = (f"{total_train:,} train / {val_index['tokens']:,} val tokens, vocab {fp.vocab_size}, "
               f"{len(val_repos)} validation repositories")
    if incremental is not None:
        metrics["incremental"] = incremental
        summary += (f"; appended to {previous.key} ({incremental['previous_train_tokens_total']:,} -> "
                    f"{incremental['train_tokens_total']:,} train tokens, same tokenizer)")
    return StageResult(counts=counts, metrics=metrics, summary=summary,
                       artifacts={"tokenizer": "tokenizer", "train": "train", "val": "val"})


STAGE = StageSpec(
    name="tokenize",
    config_model=TokenizeConfig,
    run=run,
    inputs=_input_roles,
    code_modules=("opc_train.tokenize_stage", "opc_train.tokenizer", "opc_train.token_shards",
                  "opc_core.chat_template"),
    extends=True,
    description="train a byte-level BPE and pack the corpus into memory-mappable token shards (train / val)",
)
