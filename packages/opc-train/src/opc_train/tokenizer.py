"""The cookbook's tokenizer: a byte-level BPE trained with Hugging Face ``tokenizers``, saved in HF format.

    kept/ code files ─▶ train_tokenizer(texts, vocab_size) ─▶ tokenizers.Tokenizer
                                                               │ save_tokenizer(tok, dir)
                                                               ▼
                      dir/tokenizer.json  tokenizer_config.json (ChatML chat_template)  special_tokens_map.json
                      (``transformers.AutoTokenizer.from_pretrained(dir)`` loads it offline)

Special tokens follow OpenCoder: ``<|im_start|>`` is BOS and opens ChatML turns, ``<|im_end|>`` is EOS
and closes them, ``<|pad|>`` pads; the fill-in-the-middle tokens are reserved for later use. They take
ids 0..N-1 in ``SPECIAL_TOKENS`` order. Pre-tokenization splits like LLaMA-3 / GPT-4 (letters, 1-3 digit
groups, punctuation runs, whitespace runs kept whole so indentation compresses) and then maps bytes,
so every string round-trips exactly and no input is ever unknown.

Encoding a plain string adds BOS in front (a post-processor, as LLaMA tokenizers do), so ``tok(prompt)``
in transformers and ``tok.encode(prompt)`` here both match how pretraining documents start:
``encode_document`` gives ``[BOS] + ids + [EOS]``. Chat text from ``chat_template.render_chat`` already
contains its special tokens and is encoded with ``add_special_tokens=False`` (as ``apply_chat_template``
does). This module does not pack or shard tokens (see ``token_shards``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from opc_core import storage
from opc_core.chat_template import CHAT_TEMPLATE
from opc_core.errors import OpcError

BOS = "<|im_start|>"
EOS = "<|im_end|>"
PAD = "<|pad|>"
FIM_TOKENS = ("<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>")
SPECIAL_TOKENS = (BOS, EOS, PAD, *FIM_TOKENS)

# LLaMA-3 / GPT-4 split pattern (Oniguruma syntax, as in their tokenizer.json files).
SPLIT_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def train_tokenizer(texts: Iterable[str], vocab_size: int, min_frequency: int = 2):
    """Train a byte-level BPE on ``texts`` (an iterator is streamed, not held in memory)."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    if vocab_size < 256 + len(SPECIAL_TOKENS) + 1:
        raise OpcError(f"vocab_size {vocab_size} is too small for a byte-level BPE",
                       hint=f"use at least {256 + len(SPECIAL_TOKENS) + 1}")
    tok = Tokenizer(models.BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    bos_id = tok.token_to_id(BOS)
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B:1", special_tokens=[(BOS, bos_id)]),
    ])
    return tok


def special_ids(tok) -> dict[str, int]:
    """``{"bos": id, "eos": id, "pad": id}``; an error if the tokenizer lacks one of them."""
    ids = {name: tok.token_to_id(token) for name, token in (("bos", BOS), ("eos", EOS), ("pad", PAD))}
    missing = [name for name, i in ids.items() if i is None]
    if missing:
        raise OpcError(f"tokenizer lacks special token(s) {missing}", hint="train it with opc_train.tokenizer")
    return ids


def tokenizer_hash(tok) -> str:
    """sha256 of the serialized tokenizer (vocab, merges, specials, pre/post-processing): its identity."""
    canonical = json.dumps(json.loads(tok.to_str()), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def tokenizer_config(model_max_length: int = 1_000_000) -> dict:
    """The ``tokenizer_config.json`` transformers reads, with the ChatML chat template."""
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": BOS,
        "eos_token": EOS,
        "pad_token": PAD,
        "unk_token": None,
        "additional_special_tokens": list(FIM_TOKENS),
        "add_bos_token": True,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": model_max_length,
        "padding_side": "left",
        "chat_template": CHAT_TEMPLATE,
    }


def save_tokenizer(tok, out_uri: str, model_max_length: int = 1_000_000) -> None:
    """Write the three Hugging Face tokenizer files under ``out_uri`` (local or s3://)."""
    special_ids(tok)
    storage.write_text_atomic(storage.join(out_uri, "tokenizer.json"), tok.to_str(pretty=True))
    storage.write_json_atomic(storage.join(out_uri, "tokenizer_config.json"), tokenizer_config(model_max_length))
    storage.write_json_atomic(
        storage.join(out_uri, "special_tokens_map.json"),
        {"bos_token": BOS, "eos_token": EOS, "pad_token": PAD, "additional_special_tokens": list(FIM_TOKENS)},
    )


def load_tokenizer(uri: str):
    """Load ``tokenizer.json`` from a tokenizer dir (local or s3://) as a ``tokenizers.Tokenizer``."""
    from tokenizers import Tokenizer

    path = storage.join(uri, "tokenizer.json")
    try:
        tok = Tokenizer.from_str(storage.read_text(path))
    except FileNotFoundError as exc:
        raise OpcError("no tokenizer.json here", where=path, hint="run the tokenize stage first") from exc
    special_ids(tok)
    return tok


def encode_document(tok, text: str) -> list[int]:
    """``[BOS] + ids(text) + [EOS]``: how one pretraining document enters the token stream."""
    return next(encode_documents(tok, [text]))


def encode_documents(tok, texts: list[str]) -> Iterator[list[int]]:
    """``[BOS] + ids + [EOS]`` per text, the batch encoded on all cores.

    A literal ``<|im_end|>`` inside a source file is encoded as ordinary text, never as the control
    token: a document must not be able to end itself or open a chat turn.
    """
    ids = special_ids(tok)
    saved = tok.encode_special_tokens
    tok.encode_special_tokens = True
    try:
        encodings = tok.encode_batch(texts, add_special_tokens=False)
    finally:
        tok.encode_special_tokens = saved
    for enc in encodings:
        yield [ids["bos"], *enc.ids, ids["eos"]]


def copy_tokenizer_files(src_uri: str, dst_dir: str | Path) -> None:
    """Copy the HF tokenizer files (e.g. into a release dir)."""
    for name in TOKENIZER_FILES:
        storage.write_bytes_atomic(storage.join(str(dst_dir), name), storage.read_bytes(storage.join(src_uri, name)))
