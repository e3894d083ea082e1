"""``DataConfig``: the ``stages.data`` section of a recipe, composing every sub-step's config.

    stages:
      data:
        ingest:    {sources: [...], max_file_bytes: 8388608}      IngestConfig   (ingest/config.py)
        licenses:  {deny: [GPL-3.0-only], unknown: allow}          LicenseConfig  (licenses.py)
        dedup:     {num_perm: 2048, bands: 16, rows: 128}          DedupConfig    (dedup.py)
        transforms: {copyright: true, pii: {...}}                  TransformsConfig (here, pii.py, transforms.py)
        filter:    {thresholds: {...}, random_rule_mode: hash}     FilterConfig   (filtering.py)
        sampling:  {rates: {java: 0.489, html: 0.3005}}            SamplingConfig (sampling.py)
        decontamination: {ngram: 10, benchmarks: [...]}           DecontaminationConfig
        engine:    {kind: local, workers: 2, records_per_shard: 2000}

Every default is the paper-compatible one (OpenCoder's thresholds, 2048 x (16 x 128) MinHash-LSH,
Java/HTML down-sampled, HumanEval + MBPP decontamination). Only cheap imports here: recipe validation and
``opc --help`` load this module.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from opc_data.decontamination import DecontaminationConfig
from opc_data.dedup import DedupConfig
from opc_data.filtering import FilterConfig
from opc_data.ingest.config import IngestConfig
from opc_data.licenses import LicenseConfig
from opc_data.pii import PiiConfig
from opc_data.sampling import SamplingConfig


class TransformsConfig(BaseModel):
    """Content rewrites applied after dedup: leading copyright/licence notices, then PII."""

    model_config = ConfigDict(extra="forbid")
    copyright: bool = True
    pii: PiiConfig = PiiConfig()


class EngineConfig(BaseModel):
    """Where the per-shard work runs. Both engines give the same kept set (a test)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["local", "spark"] = "local"
    workers: int = Field(0, ge=0, description="local process pool size; 0 = all CPU cores")
    records_per_shard: int = Field(2000, ge=1, description="records per input shard (unit of resume)")
    spark_master: str = Field("local[*]", description="Spark master URL when kind is spark")
    spark_conf: dict[str, str] = Field(default_factory=dict, description="extra Spark settings")


class DataConfig(BaseModel):
    """The whole ``data`` stage: ingest -> quarantine -> langid -> licence -> dedup -> transforms ->
    filter -> sampling -> decontamination."""

    model_config = ConfigDict(extra="forbid")
    ingest: IngestConfig = IngestConfig()
    licenses: LicenseConfig = LicenseConfig()
    dedup: DedupConfig = DedupConfig()
    transforms: TransformsConfig = TransformsConfig()
    filter: FilterConfig = FilterConfig()
    filter_content: Literal["raw", "transformed"] = Field(
        "raw", description="content the rules see: raw (as the reference pipeline) or after the transforms"
    )
    sampling: SamplingConfig = SamplingConfig()
    decontamination: DecontaminationConfig = DecontaminationConfig()
    engine: EngineConfig = EngineConfig()
    store_signals: bool = Field(True, description="write signals/ (every signal column) for re-deciding")
    report: bool = Field(True, description="write report/funnel.html and PNG plots")
    allow_empty: bool = Field(False, description="accept an input with no records, or no record kept (else the "
                                                 "stage refuses: an empty corpus would only fail at tokenize)")
