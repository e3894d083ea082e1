"""Per-language down-sampling, deterministic: the same record is kept or dropped on every run.

Where it sits: after the filter rules and before decontamination in the ``data`` stage. The paper
down-sampled Java (409 GB -> 200 GB) and HTML (213 GB -> 64 GB); ``SamplingConfig.rates`` maps a
``program_lang`` to the fraction kept (languages not listed keep everything).

    u = int(sha256(f"{seed}:{blob_id}")[:16], 16) / 2**64      uniform in [0, 1)
    keep  <=>  u < rate[program_lang]

The draw depends on the blob id and the seed only, so it does not change with shard order, worker
count or engine, and exact copies of one blob are all kept or all dropped (dedup has already
removed all but one). A sampled-out record is rejected with reason ``sampling:<lang>``.

What it does NOT do: balance languages to a token budget (rates are given, not solved for).
"""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, ConfigDict, Field, field_validator

# OpenCoder (arXiv 2411.04905, RefineCode): Java 409 GB -> 200 GB, HTML 213 GB -> 64 GB
PAPER_RATES: dict[str, float] = {"java": round(200 / 409, 4), "html": round(64 / 213, 4)}


class SamplingConfig(BaseModel):
    """Fraction of each language's files kept after filtering; unlisted languages keep 1.0."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    rates: dict[str, float] = Field(default_factory=lambda: dict(PAPER_RATES))
    seed: int | None = Field(None, description="None: the recipe seed")

    @field_validator("rates")
    @classmethod
    def _rates_are_fractions(cls, rates: dict[str, float]) -> dict[str, float]:
        bad = {k: v for k, v in rates.items() if not 0.0 <= v <= 1.0}
        if bad:
            raise ValueError(f"sampling rates must be in [0, 1], got {bad}")
        return {k.lower(): v for k, v in rates.items()}


def sample_draw(blob_id: str, seed: int) -> float:
    """A uniform number in [0, 1) fixed by (seed, blob_id)."""
    digest = hashlib.sha256(f"{seed}:{blob_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def sampling_reason(program_lang: str | None, blob_id: str, config: SamplingConfig, seed: int) -> str | None:
    """None when the record is kept, else the reject reason ``sampling:<lang>``."""
    if not config.enabled or not program_lang:
        return None
    rate = config.rates.get(program_lang.lower())
    if rate is None or rate >= 1.0:
        return None
    if sample_draw(blob_id, config.seed if config.seed is not None else seed) < rate:
        return None
    return f"sampling:{program_lang.lower()}"
