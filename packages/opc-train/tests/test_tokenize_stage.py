"""The tokenize stage on a real (small) data-stage output: layout, counts, repository split, mixture, determinism."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pytest

from opc_core import storage
from opc_core.errors import OpcError
from opc_core.manifest import Manifest
from opc_core.stage import StageContext
from opc_train.token_shards import TokenShards, open_token_data
from opc_train.tokenize_stage import STAGE, TokenizeConfig, choose_val_repos
from opc_train.tokenizer import load_tokenizer, save_tokenizer, train_tokenizer

TINY = {"vocab_size": 1024, "val_fraction": 0.1, "shard_tokens": 200_000}


def _ctx(tmp: Path, data_uri: str, seed: int = 1234, name: str = "out") -> StageContext:
    data = Manifest(stage="data", key="d" * 16, uri=data_uri, fingerprint="f" * 32, code_version="c",
                    created="2026-01-01T00:00:00Z")
    out = tmp / name
    out.mkdir()
    scratch = tmp / f"{name}-scratch"
    scratch.mkdir()
    return StageContext(stage="tokenize", key="k" * 16, output_uri=str(out), workdir=str(tmp), seed=seed,
                        recipe_name="test", recipe={}, inputs={"data": data}, scratch=scratch,
                        log=logging.getLogger("opc.tokenize"))


@pytest.fixture(scope="module")
def data_uri(tmp_path_factory, write_kept):
    uri = str(tmp_path_factory.mktemp("data"))
    write_kept(uri)
    return uri


@pytest.fixture(scope="module")
def tokenized(tmp_path_factory, data_uri):
    tmp = tmp_path_factory.mktemp("tok")
    ctx = _ctx(tmp, data_uri)
    result = STAGE.run(TokenizeConfig(**TINY), ctx)
    return ctx, result


def test_output_layout_and_counts_add_up(tokenized, code_corpus):
    ctx, result = tokenized
    files = storage.list_files(ctx.output_uri)
    for name in ("tokenizer/tokenizer.json", "tokenizer/tokenizer_config.json", "tokenizer/special_tokens_map.json",
                 "tokens_meta.json", "train/index.json", "train/part-00000.bin", "train/part-00000.idx.npy",
                 "val/index.json", "val/part-00000.bin"):
        assert name in files
    c = result.counts
    assert c.records_in == len(code_corpus)
    n_empty = sum(1 for r in code_corpus if not r["content"])
    assert n_empty >= 1 and c.kept == len(code_corpus) - n_empty
    assert result.metrics["rejected"] == {"empty_content": n_empty, "mixture_subsample": 0}
    data = open_token_data(ctx.output_uri)
    assert data.train.n_docs + data.val.n_docs == c.kept
    meta = data.meta
    assert meta["vocab_size"] == 1024 and meta["dtype"] == "uint16" and (meta["bos_id"], meta["eos_id"]) == (0, 1)
    assert meta["source_tokens"]["code"] == data.train.n_tokens == result.metrics["train_tokens"]
    assert set(result.metrics["languages"]) == {"Python", "Markdown"}
    assert result.metrics["languages"]["Python"]["train"] > 0


def test_validation_holds_out_whole_repositories(tokenized, code_corpus):
    ctx, result = tokenized
    data = open_token_data(ctx.output_uri)
    tok = load_tokenizer(data.tokenizer_uri)
    repo_of = {r["content"]: r["repo_name"] for r in code_corpus if r["content"]}

    def repos(split: TokenShards) -> set[str]:
        return {repo_of[tok.decode(split.document(i)[1:-1].tolist())] for i in range(split.n_docs)}

    train, val = repos(data.train), repos(data.val)
    assert val and train and not (train & val)
    assert len(val) == result.metrics["val_repos"]
    assert len(train) + len(val) == len({r["repo_name"] for r in code_corpus if r["content"]})


def test_choose_val_repos_is_seeded_and_keeps_a_training_repo():
    sizes = {f"r{i}": 100 for i in range(20)}
    a = choose_val_repos(sizes, 0.1, seed=1)
    assert a == choose_val_repos(sizes, 0.1, seed=1) and len(a) == 2
    assert a != choose_val_repos(sizes, 0.1, seed=2)
    assert len(choose_val_repos({"a": 1, "b": 1}, 0.49, seed=0)) == 1
    with pytest.raises(OpcError, match="at least two repositories"):
        choose_val_repos({"only": 10}, 0.1, seed=0)


def test_same_inputs_and_seed_give_identical_bytes(tokenized, data_uri, tmp_path):
    ctx, _ = tokenized
    again = _ctx(tmp_path, data_uri)
    STAGE.run(TokenizeConfig(**TINY), again)

    def digest(uri: str) -> dict[str, str]:
        return {rel: hashlib.sha256(storage.read_bytes(storage.join(uri, rel))).hexdigest()
                for rel in storage.list_files(uri)}

    assert digest(ctx.output_uri) == digest(again.output_uri)


def test_mixture_weights_set_the_training_token_shares(data_uri, tmp_path):
    cfg = TokenizeConfig(**TINY, mixture=[
        {"name": "python", "languages": ["python"], "weight": 0.9},
        {"name": "docs", "doc_types": ["text"], "weight": 0.1},
    ])
    result = STAGE.run(cfg, _ctx(tmp_path, data_uri))
    src = result.metrics["sources"]
    assert src["docs"]["multiplier"] > 1.0 > src["python"]["multiplier"], "docs are upsampled, python subsampled"
    for name, share in (("python", 0.9), ("docs", 0.1)):
        assert src[name]["target_share"] == pytest.approx(share)
        assert src[name]["achieved_share"] == pytest.approx(share, abs=0.03)
    assert result.metrics["rejected"]["mixture_subsample"] > 0
    c = result.counts
    assert c.records_in == c.kept + c.rejected


def test_records_no_source_claims_are_rejected_with_a_reason(data_uri, tmp_path):
    cfg = TokenizeConfig(**TINY, mixture=[{"name": "python", "languages": ["Python"]}])
    result = STAGE.run(cfg, _ctx(tmp_path, data_uri))
    n_md = result.metrics["rejected"]["no_mixture_source"]
    assert n_md > 0 and "Markdown" not in result.metrics["languages"]


def test_too_much_repetition_is_refused(data_uri, tmp_path):
    cfg = TokenizeConfig(**TINY, max_repeat=2.0, mixture=[
        {"name": "python", "languages": ["Python"], "weight": 0.5},
        {"name": "docs", "doc_types": ["text"], "weight": 0.5},
    ])
    with pytest.raises(OpcError, match="'docs' would be repeated"):
        STAGE.run(cfg, _ctx(tmp_path, data_uri))


def test_mixture_source_on_an_unknown_input_is_a_config_error():
    with pytest.raises(ValueError, match="extra_inputs"):
        TokenizeConfig(mixture=[{"name": "web", "input": "web", "weight": 0.1}])
    cfg = TokenizeConfig(extra_inputs={"web": "recall"}, mixture=[{"name": "code"}, {"name": "web", "input": "web"}])
    assert STAGE.input_roles(cfg) == {"data": "data", "web": "recall"}


def test_shards_of_another_tokenizer_are_refused(tokenized, corpus_texts, tmp_path):
    ctx, _ = tokenized
    data = open_token_data(ctx.output_uri)
    other = train_tokenizer(corpus_texts[:40], vocab_size=700)
    save_tokenizer(other, str(tmp_path / "other"))
    from opc_train.token_shards import TokenFingerprint

    with pytest.raises(OpcError, match="tokenizer_hash") as err:
        TokenShards.open(str(Path(ctx.output_uri) / "train"), expect=TokenFingerprint.of_tokenizer(other))
    assert "vocab_size" in str(err.value)
    with pytest.raises(OpcError, match="tokenizer_hash"):
        open_token_data(ctx.output_uri, expect=TokenFingerprint.of_tokenizer(other))
    assert data.fingerprint.vocab_size == 1024


def test_output_on_s3_matches_local_and_loads_through_the_cache(tokenized, data_uri, tmp_path, s3_bucket):
    import dataclasses

    from opc_train.data_loader import TokenBatchLoader

    local_ctx, _ = tokenized
    ctx = dataclasses.replace(_ctx(tmp_path, data_uri), output_uri=f"{s3_bucket}/tokenize/k")
    STAGE.run(TokenizeConfig(**TINY), ctx)
    for rel in ("tokens_meta.json", "train/part-00000.bin", "val/index.json", "tokenizer/tokenizer.json"):
        assert storage.read_bytes(f"{ctx.output_uri}/{rel}") == storage.read_bytes(storage.join(local_ctx.output_uri, rel))
    data = open_token_data(ctx.output_uri, cache_dir=tmp_path / "cache")
    assert data.train.n_tokens == open_token_data(local_ctx.output_uri).train.n_tokens
    x, y = TokenBatchLoader(data.train, seq_len=32, batch_size=4, seed=0).next_batch()
    assert x.shape == (4, 32)
