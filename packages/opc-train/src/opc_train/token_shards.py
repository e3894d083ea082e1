"""Packed, memory-mappable token shards with a document-boundary index and a fingerprint.

    <tokens output>/train/index.json          fingerprint + shard list (+ per-source token counts)
                    train/part-00000.bin       tokens, flat little-endian uint16 (vocab <= 65536) or uint32
                    train/part-00000.idx.npy   int64 document start offsets into the .bin, length n_docs + 1
                    train/part-00000.src.npy   uint16 source index of each document (names in index.json)
                    val/...                    same layout, the held-out repositories

Documents are packed back to back as ``[BOS] doc [EOS]``; the index gives their boundaries, so a
reader can recover any document, and the loader can cut fixed windows over the packed stream.

The fingerprint (tokenizer hash, dtype, BOS/EOS/PAD ids, vocab size) travels with every split and
every loader state. ``check_fingerprint`` raises a clear error on any mismatch: training on shards
made by another tokenizer would run without complaint and produce garbage, so we refuse instead.
Shards on s3:// are downloaded to a local cache before memory-mapping. This module does not batch
or shuffle (see ``data_loader``) and does not tokenize (see ``tokenize_stage``).
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from opc_core import storage
from opc_core.errors import OpcError

INDEX_NAME = "index.json"
FORMAT_VERSION = 1


def token_dtype(vocab_size: int) -> str:
    """uint16 when every id fits (vocab <= 65,536), else uint32: half the bytes for small vocabularies."""
    return "uint16" if vocab_size <= 1 << 16 else "uint32"


@dataclass(frozen=True)
class TokenFingerprint:
    """What must agree between a tokenizer, token shards, a loader state and a model."""

    tokenizer_hash: str
    dtype: str
    bos_id: int
    eos_id: int
    pad_id: int
    vocab_size: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TokenFingerprint:
        try:
            return cls(**{k: data[k] for k in cls.__dataclass_fields__})
        except KeyError as exc:
            raise OpcError(f"token fingerprint lacks field {exc}", hint="re-run the tokenize stage") from exc

    @classmethod
    def of_tokenizer(cls, tok) -> TokenFingerprint:
        from opc_train.tokenizer import special_ids, tokenizer_hash

        ids = special_ids(tok)
        vocab = tok.get_vocab_size(with_added_tokens=True)
        return cls(tokenizer_hash(tok), token_dtype(vocab), ids["bos"], ids["eos"], ids["pad"], vocab)


def check_fingerprint(actual: TokenFingerprint, expected: TokenFingerprint, where: str, what: str = "token shards") -> None:
    """Raise an OpcError naming every field that differs; return quietly when all agree."""
    diffs = [
        f"{name}: {getattr(actual, name)!r} != expected {getattr(expected, name)!r}"
        for name in TokenFingerprint.__dataclass_fields__
        if getattr(actual, name) != getattr(expected, name)
    ]
    if diffs:
        raise OpcError(
            f"{what} do not match the tokenizer they are used with ({'; '.join(diffs)})",
            where=where,
            hint="use the tokenizer from the same tokenize output, or re-run `opc run tokenize` and start training anew",
        )


def check_model_vocab(fingerprint: TokenFingerprint, model_vocab_size: int, where: str = "model config") -> None:
    """A model whose embedding is smaller than the tokenizer's vocabulary would index out of range."""
    if model_vocab_size < fingerprint.vocab_size:
        raise OpcError(
            f"model vocab_size {model_vocab_size} < tokenizer vocab_size {fingerprint.vocab_size}",
            where=where,
            hint="set the model's vocab_size to the tokenizer's (tokens_meta.json: vocab_size)",
        )


@dataclass
class ShardInfo:
    name: str
    tokens: int
    docs: int


class TokenShardWriter:
    """Append documents; a shard (``.bin`` + ``.idx.npy`` + ``.src.npy``) is flushed every ``shard_tokens``.

    Each file is written atomically through ``opc_core.storage`` (local or s3://); ``close()`` writes
    ``index.json`` last, so a split without an index is incomplete.
    """

    def __init__(self, split_uri: str, fingerprint: TokenFingerprint, sources: list[str], shard_tokens: int = 1 << 27):
        self.split_uri = split_uri
        self.fingerprint = fingerprint
        self.sources = list(sources)
        self.shard_tokens = shard_tokens
        self.dtype = np.dtype(fingerprint.dtype)
        self.shards: list[ShardInfo] = []
        self.source_tokens = dict.fromkeys(self.sources, 0)
        self.source_docs = dict.fromkeys(self.sources, 0)
        self._chunks: list[np.ndarray] = []
        self._offsets: list[int] = [0]
        self._srcs: list[int] = []
        self._n = 0
        storage.makedirs(split_uri)

    def add(self, ids: np.ndarray | list[int], source: int) -> None:
        arr = np.asarray(ids, dtype=self.dtype)
        if arr.size == 0:
            return
        self._chunks.append(arr)
        self._n += arr.size
        self._offsets.append(self._n)
        self._srcs.append(source)
        name = self.sources[source]
        self.source_tokens[name] += int(arr.size)
        self.source_docs[name] += 1
        if self._n >= self.shard_tokens:
            self.flush()

    def flush(self) -> None:
        if not self._srcs:
            return
        name = f"part-{len(self.shards):05d}"
        tokens = np.concatenate(self._chunks)
        storage.write_bytes_atomic(storage.join(self.split_uri, f"{name}.bin"), tokens.astype(f"<{self.dtype.str[1:]}").tobytes())
        for suffix, arr in ((".idx.npy", np.asarray(self._offsets, dtype=np.int64)),
                            (".src.npy", np.asarray(self._srcs, dtype=np.uint16))):
            buf = io.BytesIO()
            np.save(buf, arr)
            storage.write_bytes_atomic(storage.join(self.split_uri, name + suffix), buf.getvalue())
        self.shards.append(ShardInfo(name, int(tokens.size), len(self._srcs)))
        self._chunks, self._offsets, self._srcs, self._n = [], [0], [], 0

    def close(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        self.flush()
        index = {
            "format_version": FORMAT_VERSION,
            "fingerprint": self.fingerprint.to_dict(),
            "sources": self.sources,
            "shards": [asdict(s) for s in self.shards],
            "tokens": sum(s.tokens for s in self.shards),
            "docs": sum(s.docs for s in self.shards),
            "source_tokens": self.source_tokens,
            "source_docs": self.source_docs,
            **(extra or {}),
        }
        storage.write_json_atomic(storage.join(self.split_uri, INDEX_NAME), index)
        return index


@dataclass
class _Shard:
    tokens: np.ndarray  # memmap
    offsets: np.ndarray
    sources: np.ndarray


@dataclass
class TokenShards:
    """One split (``train/`` or ``val/``), memory-mapped. Open with ``TokenShards.open``."""

    uri: str
    fingerprint: TokenFingerprint
    sources: list[str]
    index: dict[str, Any]
    shards: list[_Shard] = field(repr=False)

    @classmethod
    def open(cls, split_uri: str, expect: TokenFingerprint | None = None, cache_dir: str | Path | None = None) -> TokenShards:
        """Open a split; with ``expect``, refuse shards whose fingerprint differs (a clear OpcError)."""
        index_uri = storage.join(split_uri, INDEX_NAME)
        if not storage.exists(index_uri):
            raise OpcError("no token shard index here (incomplete or not a token split)", where=index_uri,
                           hint="point at <tokenize output>/train or /val, or re-run `opc run tokenize`")
        index = storage.read_json(index_uri)
        fp = TokenFingerprint.from_dict(index.get("fingerprint", {}))
        if expect is not None:
            check_fingerprint(fp, expect, where=index_uri)
        local = Path(split_uri) if not storage.is_remote(split_uri) else cls._download(split_uri, index, cache_dir)
        shards = []
        for info in index["shards"]:
            bin_path = local / f"{info['name']}.bin"
            tokens = np.memmap(bin_path, dtype=np.dtype(fp.dtype).newbyteorder("<"), mode="r")
            offsets = np.load(local / f"{info['name']}.idx.npy", mmap_mode="r")
            if tokens.size != info["tokens"] or offsets[-1] != tokens.size or offsets.size != info["docs"] + 1:
                raise OpcError("token shard does not match its index (truncated or replaced file)", where=str(bin_path),
                               hint="re-run `opc run tokenize --force`")
            shards.append(_Shard(tokens, offsets, np.load(local / f"{info['name']}.src.npy")))
        return cls(split_uri, fp, list(index["sources"]), index, shards)

    @staticmethod
    def _download(split_uri: str, index: dict[str, Any], cache_dir: str | Path | None) -> Path:
        base = Path(cache_dir) if cache_dir else Path(tempfile.gettempdir()) / "opc-token-cache"
        local = base / index["fingerprint"]["tokenizer_hash"][:16] / storage.normalize(split_uri).replace("://", "/")
        for info in index["shards"]:
            for suffix in (".bin", ".idx.npy", ".src.npy"):
                dest = local / f"{info['name']}{suffix}"
                if not dest.exists():
                    storage.write_bytes_atomic(str(dest), storage.read_bytes(storage.join(split_uri, dest.name)))
        return local

    @property
    def n_tokens(self) -> int:
        return sum(int(s.tokens.size) for s in self.shards)

    @property
    def n_docs(self) -> int:
        return sum(int(s.offsets.size - 1) for s in self.shards)

    def shard_tokens(self, i: int) -> np.ndarray:
        return self.shards[i].tokens

    def document(self, i: int) -> np.ndarray:
        """The i-th document's tokens (``[BOS] ... [EOS]``) across all shards, in stored order."""
        for s in self.shards:
            n = s.offsets.size - 1
            if i < n:
                return np.asarray(s.tokens[s.offsets[i] : s.offsets[i + 1]])
            i -= n
        raise IndexError(f"document index out of range (split has {self.n_docs} documents)")

    def token_counts(self, vocab_size: int | None = None) -> np.ndarray:
        """Occurrences of every token id (e.g. for a unigram baseline); length ``vocab_size``."""
        size = vocab_size or self.fingerprint.vocab_size
        counts = np.zeros(size, dtype=np.int64)
        for s in self.shards:
            for start in range(0, s.tokens.size, 1 << 24):
                counts += np.bincount(np.asarray(s.tokens[start : start + (1 << 24)]), minlength=size)[:size]
        return counts


def read_split_index(split_uri: str) -> dict[str, Any]:
    return storage.read_json(storage.join(split_uri, INDEX_NAME))


META_NAME = "tokens_meta.json"


@dataclass
class TokenData:
    """A whole tokenize output: both splits, the tokenizer dir and ``tokens_meta.json``."""

    uri: str
    fingerprint: TokenFingerprint
    train: TokenShards
    val: TokenShards
    tokenizer_uri: str
    meta: dict[str, Any]


def open_token_data(tokens_uri: str, expect: TokenFingerprint | None = None, cache_dir: str | Path | None = None) -> TokenData:
    """Open a tokenize output and check that tokenizer, meta and both splits carry one fingerprint.

    ``expect`` (e.g. the fingerprint a checkpoint was trained with) adds one more check: resuming or
    fine-tuning on shards of another tokenizer is refused with an error naming the differing fields.
    """
    from opc_train.tokenizer import load_tokenizer

    meta_uri = storage.join(tokens_uri, META_NAME)
    if not storage.exists(meta_uri):
        raise OpcError(f"no {META_NAME}: not a (complete) tokenize output", where=tokens_uri,
                       hint="run `opc run tokenize --recipe <recipe>` first")
    meta = storage.read_json(meta_uri)
    fp = TokenFingerprint.from_dict(meta["fingerprint"])
    tokenizer_uri = storage.join(tokens_uri, "tokenizer")
    check_fingerprint(TokenFingerprint.of_tokenizer(load_tokenizer(tokenizer_uri)), fp,
                      where=tokenizer_uri, what="the tokenizer files")
    if expect is not None:
        check_fingerprint(fp, expect, where=meta_uri)
    train = TokenShards.open(storage.join(tokens_uri, "train"), expect=fp, cache_dir=cache_dir)
    val = TokenShards.open(storage.join(tokens_uri, "val"), expect=fp, cache_dir=cache_dir)
    return TokenData(tokens_uri, fp, train, val, tokenizer_uri, meta)
