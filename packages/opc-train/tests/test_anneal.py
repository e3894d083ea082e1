"""Annealing: the branch's learning rate continues the pretrain schedule at step N, checkpoints are chosen (or
refused) by step with a clear error, and the mixture's token accounting adds up per source."""

from __future__ import annotations

import numpy as np
import pytest

from opc_core.errors import OpcError
from opc_train.anneal_mixture import AnnealSource, build_mixture, consumed_tokens, planned_tokens
from opc_train.anneal_stage import branch_schedule, choose_checkpoint
from opc_train.wsd_schedule import WSDSchedule

PRETRAIN = WSDSchedule(peak_lr=3e-3, total_steps=100, warmup_steps=10, decay_steps=20, min_lr=3e-4)


def test_first_anneal_step_lr_equals_the_stable_lr_at_the_branch_step():
    branch = branch_schedule(PRETRAIN.to_dict(), 50, 30)
    assert branch.lr(0) == PRETRAIN.lr(50) == 3e-3  # exactly, not approximately
    reference = PRETRAIN.anneal_from(50, 30)
    assert [branch.lr(s) for s in range(31)] == [reference.lr(50 + s) for s in range(31)]
    assert branch.lr(29) < branch.lr(1) < branch.lr(0) and branch.lr(30) == PRETRAIN.min_lr


@pytest.mark.parametrize(("peak", "floor"), [(1e-2, 1e-3), (3e-4, 1e-5), (6e-3, 6e-4), (0.1, 0.0)])
def test_first_anneal_step_lr_is_bitwise_the_stable_lr(peak, floor):
    sched = WSDSchedule(peak_lr=peak, total_steps=200, warmup_steps=20, decay_steps=40, min_lr=floor)
    assert branch_schedule(sched.to_dict(), 150, 40).lr(0) == sched.lr(150) == peak


def test_branch_shape_and_floor_can_be_changed_in_the_recipe():
    branch = branch_schedule(PRETRAIN.to_dict(), 40, 10, decay_shape="linear", min_lr=0.0)
    assert branch.lr(0) == 3e-3 and branch.lr(5) == pytest.approx(1.5e-3) and branch.lr(10) == 0.0


def test_the_checkpoint_where_pretraining_began_its_own_decay_is_still_a_branch_point():
    branch = branch_schedule(PRETRAIN.to_dict(), PRETRAIN.start_of_decay, 20)
    assert branch.lr(0) == PRETRAIN.peak_lr == PRETRAIN.lr(PRETRAIN.start_of_decay)


def test_a_checkpoint_outside_the_stable_phase_is_refused():
    with pytest.raises(OpcError, match="step 85 is in the decay phase"):
        branch_schedule(PRETRAIN.to_dict(), 85, 10)
    with pytest.raises(OpcError, match="step 5 is in the warmup phase"):
        branch_schedule(PRETRAIN.to_dict(), 5, 10)


def test_from_step_picks_a_checkpoint_or_names_the_available_ones(tmp_path):
    for step in (20, 40, 60):
        (tmp_path / "checkpoints" / f"step-{step:08d}").mkdir(parents=True)
    (tmp_path / "checkpoints" / ".tmp-step-00000080-1").mkdir()  # a crashed save is never a candidate
    assert choose_checkpoint(tmp_path, "latest")[0] == 60
    assert choose_checkpoint(tmp_path, 40)[1].name == "step-00000040"
    with pytest.raises(OpcError, match=r"step 50 is not a checkpoint .* available steps: \[20, 40, 60\]"):
        choose_checkpoint(tmp_path, 50)


def test_planned_tokens_by_budget_and_weight():
    sources = [AnnealSource(name="a", input="data", tokens=1000), AnnealSource(name="b", input="data", weight=3),
               AnnealSource(name="c", input="synth", weight=1)]
    assert planned_tokens(sources, 5000) == {"a": 1000, "b": 3000, "c": 1000}
    with pytest.raises(OpcError, match="need total_tokens"):
        planned_tokens(sources, None)
    with pytest.raises(ValueError, match="exactly one of tokens or weight"):
        AnnealSource(name="x", input="data", tokens=5, weight=1)


def test_mixture_accounting_adds_up_per_source_and_flags_heavy_repetition(tmp_path, code_corpus, write_kept):
    from opc_train.data_loader import TokenBatchLoader
    from opc_train.token_shards import TokenFingerprint, TokenShards
    from opc_train.tokenizer import encode_documents, train_tokenizer

    tok = train_tokenizer([r["content"] for r in code_corpus[:60] if r["content"]], vocab_size=600)
    fp = TokenFingerprint.of_tokenizer(tok)
    write_kept(str(tmp_path / "big"), [r for r in code_corpus if r["doc_type"] == "code"][:40])
    small = [r for r in code_corpus if r["doc_type"] == "text"][:2]
    write_kept(str(tmp_path / "small"), small)
    natural_small = sum(len(ids) for ids in encode_documents(tok, [r["content"] for r in small]))
    sources = [AnnealSource(name="big", input="data", tokens=30_000),
               AnnealSource(name="small", input="synth", tokens=12 * natural_small)]
    uris = {"big": str(tmp_path / "big" / "kept"), "small": str(tmp_path / "small" / "kept")}
    report = build_mixture(sources, uris, tok, fp, None, str(tmp_path / "mix"), tmp_path / "scratch", seed=3,
                           shard_tokens=20_000)
    shards = TokenShards.open(str(tmp_path / "mix"), expect=fp)
    assert shards.index["source_tokens"] == {n: e["written_tokens"] for n, e in report.items()}
    assert shards.n_tokens == sum(e["written_tokens"] for e in report.values())
    assert report["small"]["epochs"] == 12.0 and report["small"]["repeat_warning"]
    big = report["big"]
    assert big["written_tokens"] >= big["planned_tokens"] and not big["repeat_warning"]
    assert big["written_tokens"] - big["planned_tokens"] < 20_000  # over by at most one document
    assert len(shards.shards) > 1

    loader = TokenBatchLoader(shards, 64, 4, seed=1)
    consumed = consumed_tokens(loader, 10)
    assert sum(consumed.values()) == 10 * 4 * 64  # every target token belongs to exactly one source
    # counted against the tokens themselves: each window's targets, attributed through the document index
    check = TokenBatchLoader(shards, 64, 4, seed=1)
    ids = np.concatenate([check.next_window_ids() for _ in range(10)])
    per_token_source = np.concatenate([np.repeat(s.sources, np.diff(s.offsets)) for s in shards.shards])
    shard_base = np.concatenate([[0], np.cumsum([s.tokens.size for s in shards.shards])])
    expected = dict.fromkeys(shards.sources, 0)
    shard_of = np.searchsorted(check.windows.starts, ids, side="right") - 1
    for w, s in zip(ids, shard_of, strict=True):
        begin = shard_base[s] + (w - check.windows.starts[s]) * 64 + 1
        for k in per_token_source[begin:begin + 64]:
            expected[shards.sources[int(k)]] += 1
    assert consumed == expected


def test_optimizer_keep_continues_the_adamw_moments_and_reset_starts_them_afresh(tmp_path):
    import importlib.util
    from dataclasses import replace
    from pathlib import Path

    import torch

    from opc_train.token_shards import TokenShards
    from opc_train.train_loop import train

    spec = importlib.util.spec_from_file_location("train_worker", Path(__file__).with_name("train_worker.py"))
    worker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(worker)
    worker.make_token_data(str(tmp_path / "tokens"), n_train_docs=40, n_val_docs=10)
    tr = TokenShards.open(str(tmp_path / "tokens" / "train"))
    va = TokenShards.open(str(tmp_path / "tokens" / "val"), expect=tr.fingerprint)
    pre = worker.settings(12, checkpoint_every=3, keep_last=10, eval_every=0, num_threads=1)
    train(worker.MODEL, pre, tr, va, tmp_path / "pre")
    ckpt = tmp_path / "pre" / "checkpoints" / "step-00000006"
    moments = torch.load(ckpt / "optimizer.pt", weights_only=False)["state"]
    for keep, expected_steps in ((True, 6 + 2), (False, 2)):
        run = tmp_path / f"anneal-{keep}"
        s = replace(pre, max_steps=2, checkpoint_every=2,
                    schedule=WSDSchedule(peak_lr=1e-3, total_steps=2, decay_steps=2, decay_start=0))
        train(worker.MODEL, s, tr, va, run, init_from=ckpt, init_optimizer=keep)
        state = torch.load(run / "checkpoints" / "step-00000002" / "optimizer.pt", weights_only=False)["state"]
        assert float(state[0]["step"]) == expected_steps
        if keep:
            assert not torch.equal(state[0]["exp_avg_sq"], moments[0]["exp_avg_sq"])  # it kept going from there
