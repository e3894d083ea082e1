"""Keep/drop decision over stored signal columns: thresholds as data, ``decide`` as a cheap function.

    signal columns ──▶ select_scope(doc_type, program_lang, lang) ──▶ decide(signals, scope, thresholds)
                                                                       ──▶ (keep, rules_fired)

The thresholds are declarative data (``reference_thresholds.json``, generated once from the reference
rule table ``opc_rules.tsv`` = the reference's ``pipeline/code_filter_config.py``; same signal names and
14 scopes, 450 active rules). A rule is ``{"drop_if_any": [[op, value], ...]}`` with op in ``<``, ``>``,
``==`` (the reference's ``lambda x: x < 10 or x > 100000`` is ``[["<", 10], [">", 100000]]``); ``null``
means "computed, not thresholded". Nothing is ``eval``'d.

Scope selection (reference ``CodeFilter.evaluate``): ``text`` documents use ``text-zh`` when their
natural language is zh, else ``text-en``; ``code``/``data`` documents whose ``program_lang`` is one of
c, cpp, csharp, go, html, java, javascript, python, shell, sql use ``code-<lang>``; other ``data``
documents use ``code-data``; other ``code`` documents ``code-others``; ``unknown``/``excluded`` have no
scope and are dropped without rules.

A rule is skipped when its signal is missing (not computed) and does not fire when the value is None.

Random rules. Eight reference rules fire only when ``random.random() > 0.2`` as well (the
``*_score_lines_no_logic`` rules and ``qsc_codego_cate_testfile``): ``random_fire_rate`` 0.8. We make the
draw deterministic: ``random_mode="hash"`` (default) fires when ``u < rate`` with ``u`` uniform in [0, 1)
from ``blake2b(blob_id + "\\0" + signal)`` — the same file always gets the same decision, whatever the
shard order or machine; ``random_mode="strict"`` always fires (compare with the reference's
``effective_strict``); ``random_mode="never"`` never fires these rules.

Corrected rules (off by default = reference behaviour). The reference's ``qsc_codego_cate_var_zero``
and ``qsc_codecsharp_cate_var_zero`` compare a list with 0 and are therefore always 0: their rules can
never fire. With ``corrected=True`` the decision reads the corrected signal instead (the language
modules emit it under the name in ``CORRECTED_SIGNALS``), under the same threshold.

What it does NOT do: compute signals (``opc_data.signals``), read or write records (``opc_data.filtering``).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

__all__ = [
    "Rule",
    "Thresholds",
    "reference_thresholds",
    "select_scope",
    "decide",
    "hash_uniform",
    "SCOPES",
    "LANG_SCOPES",
    "CORRECTED_SIGNALS",
    "RandomMode",
]

RandomMode = Literal["hash", "strict", "never"]

LANG_SCOPES: frozenset[str] = frozenset(
    {"c", "cpp", "csharp", "go", "html", "java", "javascript", "python", "shell", "sql"}
)
CORRECTED_SIGNALS: dict[str, str] = {
    "qsc_codego_cate_var_zero": "qsc_codego_cate_var_zero_corrected",
    "qsc_codecsharp_cate_var_zero": "qsc_codecsharp_cate_var_zero_corrected",
}
_OPS = {"<", ">", "=="}


@dataclass(frozen=True)
class Rule:
    """Drop when any clause holds (``x op value``); with ``random_fire_rate`` only for that share of files."""

    drop_if_any: tuple[tuple[str, float | int | bool], ...]
    random_fire_rate: float | None = None

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Rule:
        clauses = []
        for item in data["drop_if_any"]:
            op, value = item
            if op not in _OPS:
                raise ValueError(
                    f"unknown comparison {op!r} in rule {dict(data)!r}; use one of {sorted(_OPS)}"
                )
            clauses.append((op, value))
        if not clauses:
            raise ValueError(f"rule {dict(data)!r} has no clause")
        rate = data.get("random_fire_rate")
        if rate is not None and not 0.0 <= float(rate) <= 1.0:
            raise ValueError(f"random_fire_rate must be in [0, 1], got {rate!r}")
        return cls(tuple(clauses), None if rate is None else float(rate))

    def to_data(self) -> dict[str, Any]:
        out: dict[str, Any] = {"drop_if_any": [list(c) for c in self.drop_if_any]}
        if self.random_fire_rate is not None:
            out["random_fire_rate"] = self.random_fire_rate
        return out

    def holds(self, x: float) -> bool:
        for op, v in self.drop_if_any:
            if (op == "<" and x < v) or (op == ">" and x > v) or (op == "==" and x == v):
                return True
        return False


Thresholds = dict[str, dict[str, Rule | None]]

SCOPES: tuple[str, ...] = (
    "text-en", "text-zh", "code-others", "code-data", "code-shell", "code-sql", "code-python", "code-c",
    "code-cpp", "code-csharp", "code-go", "code-html", "code-java", "code-javascript",
)  # fmt: skip


def parse_thresholds(data: Mapping[str, Mapping[str, Any]]) -> Thresholds:
    """``{scope: {signal: rule data | None}}`` -> ``Thresholds`` (validating every rule)."""
    return {
        scope: {sig: (None if r is None else Rule.from_data(r)) for sig, r in rules.items()}
        for scope, rules in data.items()
    }


@lru_cache(maxsize=1)
def _reference_data() -> dict[str, Any]:
    text = resources.files("opc_data.rules").joinpath("reference_thresholds.json").read_text(encoding="utf-8")
    return json.loads(text)


def reference_thresholds() -> Thresholds:
    """A fresh copy of the reference's threshold tables (the paper-compatible default)."""
    return parse_thresholds(_reference_data()["scopes"])


def select_scope(doc_type: str, program_lang: str, lang: str = "en") -> str | None:
    """The threshold table for a document (see the module docstring); None = dropped without rules."""
    if doc_type == "text":
        return "text-zh" if lang == "zh" else "text-en"
    if doc_type in ("code", "data"):
        if program_lang in LANG_SCOPES:
            return f"code-{program_lang}"
        return "code-data" if doc_type == "data" else "code-others"
    return None


def hash_uniform(blob_id: str | None, signal: str) -> float:
    """A uniform number in [0, 1) fixed by (blob_id, signal): the deterministic stand-in for random()."""
    h = hashlib.blake2b(f"{blob_id or ''}\0{signal}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "big") / 2.0**64


def decide(
    signals: Mapping[str, Any],
    scope: str | None,
    thresholds: Thresholds | None = None,
    *,
    blob_id: str | None = None,
    random_mode: RandomMode = "hash",
    corrected: bool = False,
) -> tuple[bool, list[str]]:
    """(keep, names of the rules that fired). A pure function of the signal values: no recomputation."""
    if scope is None:
        return False, []
    table = (thresholds if thresholds is not None else _default_thresholds()).get(scope)
    if table is None:
        raise KeyError(f"no threshold table for scope {scope!r}; known scopes: {sorted(SCOPES)}")
    fired: list[str] = []
    for name, rule in table.items():
        if rule is None:
            continue
        if name not in signals:
            continue
        x = signals[name]
        if corrected and name in CORRECTED_SIGNALS:
            fixed = signals.get(CORRECTED_SIGNALS[name])
            if fixed is not None:  # not provided: fall back to the reference signal
                x = fixed
        if x is None or (isinstance(x, float) and math.isnan(x)):
            continue
        if not rule.holds(x):
            continue
        if rule.random_fire_rate is not None:
            if random_mode == "never":
                continue
            if random_mode == "hash" and hash_uniform(blob_id, name) >= rule.random_fire_rate:
                continue
        fired.append(name)
    return not fired, fired


@lru_cache(maxsize=1)
def _default_thresholds() -> Thresholds:
    return reference_thresholds()
