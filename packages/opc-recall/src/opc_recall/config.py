"""``RecallConfig``: the ``stages.recall`` section of a recipe.

    stages:
      recall:
        pool:    {sources: [s3://cc/wet/*.warc.wet.gz, {kind: embedded, parts: [...]}], extractor: resiliparse}
        seeds:   {labels: [...jsonl], positives: [...], negatives: [...], github_text: true}
        classifier: {features: {...}, fasttext: {...}, iterations: {iterations: 3, domain_threshold: 0.1}}
        decontamination: {ngram: 10, benchmarks: [...]}            (opc-data's DecontaminationConfig)
        engine:  {kind: local, workers: 2, pages_per_shard: 5000}

Defaults follow the paper: three iterations, a domain is code-related above 10% recalled pages,
BPE-tokenized fastText input, decontamination against the same benchmarks as the data stage.
Only cheap imports here (recipe validation loads this module).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from opc_data.decontamination import DecontaminationConfig
from opc_recall.training import ClassifierConfig


class EmbeddedPoolSource(BaseModel):
    """Text the virtualenv ships (``embedded_pool.py``): the offline default."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["embedded"] = "embedded"
    parts: list[Literal["metadata", "pydoc_topics", "site_html", "licenses"]] = Field(
        default_factory=lambda: ["metadata", "pydoc_topics", "site_html", "licenses"])


class PageSource(BaseModel):
    """A file, folder, glob or archive of pages (WARC / WET / JSONL / Parquet), local or s3://."""

    model_config = ConfigDict(extra="forbid")
    uri: str
    format: Literal["auto", "warc", "wet", "jsonl", "parquet", "archive"] = "auto"


Source = PageSource | EmbeddedPoolSource | str


class PoolConfig(BaseModel):
    """The pages to recall from."""

    model_config = ConfigDict(extra="forbid")
    sources: list[Source] = Field(default_factory=lambda: [EmbeddedPoolSource()])
    extractor: Literal["resiliparse", "trafilatura"] = "resiliparse"
    max_page_bytes: int = Field(8 << 20, ge=1024, description="larger HTTP bodies are quarantined, not parsed")
    min_text_chars: int = Field(1, ge=1, description="shorter extracted text is rejected (empty_text) with score 0")
    iteration_pages: int = Field(200_000, ge=1, description="pool pages (seeded sample) the iterations mine")


class SeedsConfig(BaseModel):
    """Where the classifier's training pages come from."""

    model_config = ConfigDict(extra="forbid")
    labels: list[str] = Field(default_factory=list, description="labelled JSONL (text/html, url, code_related 0/1)")
    positives: list[Source] = Field(default_factory=list, description="pages that are code-related")
    negatives: list[Source] = Field(default_factory=list, description="pages that are not")
    github_text: bool = Field(True, description="the data stage's doc_type == text files (READMEs, docs) as positives")
    github_text_max: int = Field(20_000, ge=0)
    github_text_min_chars: int = Field(200, ge=0)


class EngineConfig(BaseModel):
    """Where scoring the pool runs. Both engines give the same recalled set (a test)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["local", "spark"] = "local"
    workers: int = Field(0, ge=0, description="local process pool size; 0 = all CPU cores")
    pages_per_shard: int = Field(5000, ge=1)
    spark_master: str = "local[*]"
    spark_conf: dict[str, str] = Field(default_factory=dict)


class RecallConfig(BaseModel):
    """The whole ``recall`` stage."""

    model_config = ConfigDict(extra="forbid")
    pool: PoolConfig = PoolConfig()
    seeds: SeedsConfig = SeedsConfig()
    classifier: ClassifierConfig = ClassifierConfig()
    decontamination: DecontaminationConfig = DecontaminationConfig()
    engine: EngineConfig = EngineConfig()
    report: bool = True
