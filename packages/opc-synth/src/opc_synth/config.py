"""The ``synth`` stage's typed config (``stages.synth`` in a recipe).

    stages:
      synth:
        teacher:                       # one of opc_eval's generation backends
          kind: local                  # local (our model) | hf | vllm | openai | responses
          max_new_tokens: 512
          temperature: 0.0             # greedy by default (deterministic); >0 samples with a per-request seed
          # openai: model, base_url (default $OPENAI_BASE_URL), api_key_env, max_concurrency, max_retries, timeout_s
          # responses: responses_path (+ requests_path for an OpenAI batch job's input file)
        generators:
          - {name: hq_snippets, count: 100}
          - {name: educational_instruct, count: 100}
          - {name: textbooks, count: 20}
          - {name: package_instruct, count: 50, distributions: [requests, click]}
          - {name: diverse_instruct, count: 100}
        diverse: {languages: {python: 0.7, javascript: 0.3}, task_types: {implement: 0.5, explain: 0.5}}
        exec: {timeout_s: 3.0}
        dedup: {num_perm: 256, bands: 32, rows: 8, verify_threshold: 0.8}
        decontamination: {benchmarks: [{name: humaneval, uri: "builtin:humaneval"}]}
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from opc_data.decontamination import DecontaminationConfig

GENERATOR_NAMES = ("hq_snippets", "textbooks", "educational_instruct", "package_instruct", "diverse_instruct")


class TeacherConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["local", "hf", "vllm", "openai", "responses"] = "local"
    model_stage: str = Field("pretrain", description="local/hf/vllm: the stage whose model teaches")
    tokens_stage: str = Field("tokenize", description="local: where the tokenizer comes from")
    model_dir: str | None = Field(None, description="hf/vllm: a Hugging Face folder (default: the model stage's artifact)")
    model: str | None = Field(None, description="openai: the served model name")
    base_url: str | None = Field(None, description="openai: default $OPENAI_BASE_URL")
    api_key_env: str = "OPENAI_API_KEY"
    max_concurrency: int = Field(8, ge=1, description="openai/vllm: requests in flight")
    max_retries: int = Field(5, ge=0, description="openai/vllm: retries of 429/5xx/connection errors, with backoff")
    timeout_s: float = Field(300.0, gt=0, description="openai/vllm: per HTTP request")
    responses_path: str | None = Field(None, description="responses: JSONL of prompt -> response (or batch output)")
    requests_path: str | None = Field(None, description="responses: the batch job's input JSONL (custom_id -> body)")
    max_new_tokens: int = Field(512, ge=1)
    temperature: float = Field(0.0, ge=0.0)
    top_p: float = Field(0.95, gt=0.0, le=1.0)
    cache: bool = Field(True, description="the response cache under <workdir>/_synth_cache (reruns send nothing twice)")

    @model_validator(mode="after")
    def _complete(self) -> TeacherConfig:
        if self.kind == "openai" and not self.model:
            raise ValueError("teacher kind openai needs `model` (and base_url or $OPENAI_BASE_URL)")
        if self.kind == "responses" and not self.responses_path:
            raise ValueError("teacher kind responses needs `responses_path`")
        return self


class GeneratorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Literal["hq_snippets", "textbooks", "educational_instruct", "package_instruct", "diverse_instruct"]
    count: int = Field(10, ge=0, description="prompts to send (one sample each)")
    distributions: list[str] | None = Field(None, description="package_instruct: installed distributions whose docs ground the questions")


class DiverseConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    languages: dict[str, float] = Field(default_factory=lambda: {"python": 1.0})
    task_types: dict[str, float] = Field(default_factory=lambda: {"implement": 0.4, "explain": 0.2, "debug": 0.2,
                                                                   "refactor": 0.2})

    @model_validator(mode="after")
    def _weights(self) -> DiverseConfig:
        for name, table in (("languages", self.languages), ("task_types", self.task_types)):
            if not table or any(w < 0 for w in table.values()) or sum(table.values()) <= 0:
                raise ValueError(f"diverse.{name} needs positive weights")
        return self


class ExecConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    timeout_s: float = Field(3.0, gt=0, description="per program, as in eval")
    memory_mb: int = Field(4096, ge=64, description="memory for one program and all its processes (MiB), as eval.memory_mb")
    workers: int | None = Field(None, ge=1, description="parallel sandboxes (default: CPU count)")


class OutputDedupConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    num_perm: int = Field(256, ge=16)
    bands: int = Field(32, ge=1)
    rows: int = Field(8, ge=1)
    verify_threshold: float = Field(0.8, gt=0, le=1)


class SynthConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    teacher: TeacherConfig = Field(default_factory=TeacherConfig)
    generators: list[GeneratorConfig] = Field(default_factory=lambda: [GeneratorConfig(name=n) for n in GENERATOR_NAMES])
    seed_stages: list[str] = Field(default_factory=lambda: ["data"], min_length=1,
                                   description="stages whose kept/ files seed the code generators, in order "
                                               "(the paper seeds snippets from the algorithmic corpus: [algorithmic, data])")
    seed_languages: list[str] = Field(default_factory=lambda: ["python"], description="code seeds: program_lang values")
    seed_max_chars: int = Field(1500, ge=100, description="longest seed snippet put in a prompt")
    diverse: DiverseConfig = Field(default_factory=DiverseConfig)
    exec: ExecConfig = Field(default_factory=ExecConfig)
    dedup: OutputDedupConfig = Field(default_factory=OutputDedupConfig)
    decontamination: DecontaminationConfig = Field(default_factory=DecontaminationConfig)
    min_chars: int = Field(20, ge=0, description="format check: shorter texts are rejected")
    records_per_shard: int = Field(50_000, ge=1)

    @model_validator(mode="after")
    def _unique(self) -> SynthConfig:
        if len(set(self.seed_stages)) != len(self.seed_stages):
            raise ValueError(f"seed_stages must not repeat a stage (got {self.seed_stages})")
        if {"model", "tokens"} & set(self.seed_stages):
            raise ValueError("seed_stages name stages with kept/ datasets (data, algorithmic), not model/tokens")
        names = [g.name for g in self.generators]
        if len(set(names)) != len(names):
            raise ValueError(f"each generator may appear once (got {names})")
        if self.dedup.bands * self.dedup.rows > self.dedup.num_perm:
            raise ValueError("dedup: bands x rows exceeds num_perm")
        return self
