"""The eval stage end to end on a real (tiny, untrained) model of our own, through three backends:
the local checkpoint, ``opc serve`` (a real HTTP server subprocess) with the OpenAI-compatible
backend, and the stage's outputs / manifest metrics. pass@1 of an untrained model is ~0: the test
checks the plumbing and the files, not the score."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from opc_core.manifest import Manifest  # noqa: E402
from opc_core.stage import StageContext  # noqa: E402

OPC = str(Path(sys.executable).with_name("opc"))


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A tokenizer trained on real Python files and a randomly initialised tiny decoder, saved the way
    the tokenize and pretrain stages save them."""
    import logging

    from opc_train.checkpoint import save_final
    from opc_train.model import ModelConfig, Transformer
    from opc_train.tokenizer import save_tokenizer, train_tokenizer

    root = tmp_path_factory.mktemp("tiny")
    texts = [p.read_text() for p in sorted(Path(logging.__file__).parent.glob("*.py"))]
    texts += [p.read_text() for p in sorted(Path(json.__file__).parent.glob("*.py"))]
    tok = train_tokenizer(texts, vocab_size=600)
    save_tokenizer(tok, str(root / "tokenize" / "tokenizer"))
    config = ModelConfig(vocab_size=tok.get_vocab_size(), dim=64, n_layers=2, n_heads=4, n_kv_heads=2, ffn_dim=128,
                         max_seq_len=1024)
    torch.manual_seed(0)
    save_final(root / "pretrain", Transformer(config).state_dict(), config)
    return root


# the named artifacts the real stages declare (StageResult.artifacts)
ARTIFACTS = {"tokenize": {"tokenizer": "tokenizer", "train": "train", "val": "val"},
             "pretrain": {"final": "final", "checkpoints": "checkpoints"}, "release": {"model": "model"}}


def _manifest(stage: str, uri: Path) -> Manifest:
    return Manifest(stage=stage, key="k", uri=str(uri), fingerprint="f", code_version="c", created="2026-01-01T00:00:00Z",
                    artifacts=ARTIFACTS.get(stage, {}))


def _ctx(tmp_path, tiny_model, inputs: dict[str, Manifest]) -> StageContext:
    import logging

    out = tmp_path / "eval-out"
    out.mkdir()
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    return StageContext(stage="eval", key="k", output_uri=str(out), workdir=str(tmp_path), seed=7,
                        recipe_name="test", recipe={}, inputs=inputs, scratch=scratch, log=logging.getLogger("t"))


def test_local_backend_generates_deterministic_greedy_text(tiny_model):
    from opc_eval.backends import GenParams, make_backend

    b = make_backend("local", model_uri=str(tiny_model / "pretrain"), tokenizer_uri=str(tiny_model / "tokenize" / "tokenizer"))
    params = GenParams(max_new_tokens=12, temperature=0.0)
    a = b.complete(["def add(a, b):\n"], params)
    assert a == b.complete(["def add(a, b):\n"], params)
    assert len(a) == 1 and len(a[0]) == 1 and isinstance(a[0][0], str)
    sampled = b.complete(["import os\n"], GenParams(max_new_tokens=8, temperature=1.0, n=3, seed=1))
    assert len(sampled[0]) == 3


def test_eval_stage_writes_samples_results_summary_plot_and_metrics(tmp_path, tiny_model):
    from opc_eval.config import EvalConfig
    from opc_eval.stage import STAGE

    config = EvalConfig(benchmarks=[{"name": "humaneval", "limit": 3}], max_new_tokens=16)
    assert STAGE.input_roles(config) == {"model": "pretrain", "tokens": "tokenize"}
    ctx = _ctx(tmp_path, tiny_model, {"model": _manifest("pretrain", tiny_model / "pretrain"),
                                      "tokens": _manifest("tokenize", tiny_model / "tokenize")})
    result = STAGE.run(config, ctx)
    out = Path(ctx.output_uri)
    for name in ("samples.jsonl", "results.jsonl", "summary.json", "pass_at_k.png"):
        assert (out / name).exists(), name
    samples = [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    results = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert [s["task_id"] for s in samples] == ["HumanEval/0", "HumanEval/1", "HumanEval/2"]
    assert [r["task_id"] for r in results] == [s["task_id"] for s in samples]
    m = result.metrics["humaneval"]
    assert m["n_tasks"] == 3 and m["n_samples"] == 3 and m["mode"] == "completion"
    assert 0.0 <= m["pass@1"] <= 1.0
    assert result.counts.records_in == 3


def test_opc_serve_answers_completions_and_chat_for_the_openai_backend(tmp_path, tiny_model):
    from opc_eval.backends import GenParams, make_backend

    proc = subprocess.Popen([OPC, "serve", "--model", str(tiny_model / "pretrain"), "--tokenizer",
                             str(tiny_model / "tokenize" / "tokenizer"), "--port", "0", "--name", "tiny"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        base_url = json.loads(line)["serving"]
        client = make_backend("openai", base_url=base_url, model="tiny")
        local = make_backend("local", model_uri=str(tiny_model / "pretrain"),
                             tokenizer_uri=str(tiny_model / "tokenize" / "tokenizer"))
        params = GenParams(max_new_tokens=10, temperature=0.0)
        # the server runs the same model: greedy text over HTTP equals greedy text in process
        assert client.complete(["def f(x):\n"], params) == local.complete(["def f(x):\n"], params)
        chat = client.chat([[{"role": "user", "content": "Write hello world"}]], GenParams(max_new_tokens=6, n=2,
                                                                                          temperature=0.8))
        assert len(chat[0]) == 2 and all(isinstance(t, str) for t in chat[0])

        # and the eval stage runs against it through the openai backend
        from opc_eval.config import EvalConfig
        from opc_eval.stage import STAGE

        cfg = EvalConfig(benchmarks=[{"name": "humaneval", "task_ids": ["HumanEval/5", "HumanEval/9"]}],
                         max_new_tokens=8, mode="chat", backend={"kind": "openai", "base_url": base_url, "model": "tiny"})
        assert STAGE.input_roles(cfg) == {}
        result = STAGE.run(cfg, _ctx(tmp_path, tiny_model, {}))
        assert result.metrics["humaneval"]["n_tasks"] == 2 and result.metrics["humaneval"]["mode"] == "chat"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_hf_backend_generates_from_a_local_hugging_face_folder(tmp_path, tiny_model):
    """A real transformers LlamaForCausalLM folder (config + safetensors + our tokenizer files)."""
    import shutil

    transformers = pytest.importorskip("transformers")
    from opc_eval.backends import GenParams, make_backend

    model_dir = tmp_path / "hf"
    shutil.copytree(tiny_model / "tokenize" / "tokenizer", model_dir)
    tok = transformers.AutoTokenizer.from_pretrained(model_dir)
    config = transformers.LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    torch.manual_seed(0)
    transformers.LlamaForCausalLM(config).save_pretrained(model_dir)
    b = make_backend("hf", model_dir=str(model_dir))
    params = GenParams(max_new_tokens=8, temperature=0.0)
    first = b.complete(["def add(a, b):\n"], params)
    assert first == b.complete(["def add(a, b):\n"], params) and isinstance(first[0][0], str)
    chat = b.chat([[{"role": "user", "content": "hi"}]], GenParams(max_new_tokens=4, temperature=0.7, n=2))
    assert len(chat[0]) == 2
