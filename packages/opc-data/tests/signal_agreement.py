"""Agreement of one language's specific signals with the reference's values on the dev corpus.

Shared by ``test_signals_lang_*.py`` through the ``signal_agreement`` fixture (``conftest.py``): each
test module declares ``AGREEMENT = {"langs": ..., "compute": ..., "floors": ..., "min_files": ...}``
and one parametrized test per signal calls ``Agreement.assert_agrees``.

    dev.jsonl.gz (raw) + opc_dev.jsonl.gz (reference, same order) ──▶ Documents of ``langs``
        ──▶ ``compute(doc)`` ──▶ per reference signal: (files equal within 1e-6, files)

Every language-specific signal the reference recorded counts (general ``qsc_code_*`` ones do not); a
signal we do not compute counts as a disagreement. What it does NOT do: general code signals (see
``test_reference_agreement.py``), choose floors (they are data in each test module).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opc_data.document import Document

_MISSING = object()


def dev_documents(shared_dir: Path, langs: set[str]) -> Iterator[tuple[dict[str, Any], Document]]:
    """(reference record, Document) for the dev files of ``langs`` that the reference gave signals."""
    ref_path = shared_dir / "reference" / "opc_dev.jsonl.gz"
    raw_path = shared_dir / "data" / "raw_code" / "dev.jsonl.gz"
    with gzip.open(ref_path, "rt", encoding="utf-8") as ref, gzip.open(raw_path, "rt", encoding="utf-8") as raw:
        for ref_line, raw_line in zip(ref, raw, strict=True):
            r = json.loads(ref_line)
            if r["program_lang"] in langs and r["doc_type"] in ("code", "data"):
                x = json.loads(raw_line)
                yield r, Document(x["content"], filename=r["filename"], ext=r["ext"],
                                  program_lang=r["program_lang"], doc_type=r["doc_type"], size_bytes=x["size"])


def same(expected: Any, got: Any) -> bool:
    """The reference's value and ours agree: both None, or numerically equal within 1e-6."""
    if got is _MISSING:
        return False
    if expected is None or got is None:
        return expected is None and got is None
    return abs(float(expected) - float(got)) <= 1e-6


@dataclass(frozen=True)
class Agreement:
    """Per-signal ``(agreeing files, files)`` on dev, with the floors and file minimum they must meet."""

    counts: dict[str, tuple[int, int]]
    floors: dict[str, float]
    min_files: int

    def assert_agrees(self, signal: str) -> None:
        """Fail unless ``signal`` was seen on ``min_files`` files and agrees on at least its floor."""
        if signal not in self.counts:
            raise AssertionError(f"{signal}: the reference has no value for it on dev")
        agree, total = self.counts[signal]
        if total < self.min_files:
            raise AssertionError(f"{signal}: only {total} dev files, expected >= {self.min_files}")
        if agree / total < self.floors[signal]:
            raise AssertionError(f"{signal}: {agree}/{total} below floor {self.floors[signal]}")


def measure(shared_dir: Path, *, langs: set[str], compute: Callable[[Document], dict[str, Any]],
            floors: dict[str, float], min_files: int) -> Agreement:
    """Run ``compute`` on every dev file of ``langs`` and count agreement per reference signal."""
    counts: dict[str, list[int]] = {}
    for r, doc in dev_documents(shared_dir, langs):
        got = compute(doc)
        for name, expected in r["signals"].items():
            if name.startswith("qsc_code_"):
                continue
            c = counts.setdefault(name, [0, 0])
            c[1] += 1
            c[0] += same(expected, got.get(name, _MISSING))
    return Agreement({k: (a, n) for k, (a, n) in counts.items()}, dict(floors), min_files)
