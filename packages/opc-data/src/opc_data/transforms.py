"""The transforms chain of the ``data`` stage: copyright removal, then PII reduction, each syntax-guarded.

Where it sits: ``stage.process_shard`` calls ``apply_transforms`` once per record that survived dedup;
the counts go into the funnel (``metrics.funnel.transforms`` in the manifest) and one before/after
sample per kind into ``report/transform_samples.json`` and ``report/funnel.html``.

    content ──▶ remove_copyright ──▶ guard ──▶ PII: key ─▶ password ─▶ email ─▶ ip_address ─▶ phone_number
                                     │             (each kind: edit the whole file, then guard)
                                     └── an edit that breaks a file that parsed is reverted:
                                         ``reverted_parse_<kind>`` counts it, nothing broken is shipped

Counts (per shard, summed by the stage): ``copyright_files``, ``copyright_lines``, ``pii_<kind>``
(replacements), ``pii_files``, ``reverted_parse_<kind>`` (files whose edit of that kind was undone).

What it does NOT do: decide which records are kept (rules and decontamination do), or apply an edit
partially when one of several edits of a kind breaks parsing (the whole kind is reverted for that file).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from opc_data.copyright import remove_copyright
from opc_data.pii import PiiRedactor
from opc_data.syntax_guard import SyntaxGuard

SAMPLE_CONTEXT = 2  # lines of context around the first changed line of a sample
SAMPLE_MAX_CHARS = 1200


@dataclass
class TransformResult:
    content: str
    counts: Counter[str] = field(default_factory=Counter)
    samples: dict[str, dict[str, str]] = field(default_factory=dict)  # kind -> {before, after}


def snippet(before: str, after: str) -> dict[str, str]:
    """The first changed region of ``before`` -> ``after`` with a few lines of context on each side."""
    a, b = before.splitlines(), after.splitlines()
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    ja, jb = len(a), len(b)
    while ja > i and jb > i and a[ja - 1] == b[jb - 1]:
        ja, jb = ja - 1, jb - 1
    lo = max(0, i - SAMPLE_CONTEXT)
    return {"before": "\n".join(a[lo:ja + SAMPLE_CONTEXT])[:SAMPLE_MAX_CHARS],
            "after": "\n".join(b[lo:jb + SAMPLE_CONTEXT])[:SAMPLE_MAX_CHARS]}


def apply_transforms(content: str, program_lang: str | None, copyright: bool, pii: PiiRedactor | None,
                     samples: bool = False) -> TransformResult:
    """Copyright removal then PII reduction on one file; edits that break parsing are reverted."""
    result = TransformResult(content)
    guard = SyntaxGuard(content, program_lang)
    if copyright:
        after, n_lines = remove_copyright(content, program_lang)
        if after != content:
            if guard.keep(content, after):
                result.counts["copyright_files"] += 1
                result.counts["copyright_lines"] += n_lines
                if samples:
                    result.samples["copyright"] = snippet(content, after)
                content = after
            else:
                result.counts["reverted_parse_copyright"] += 1
    if pii is not None and pii.config.enabled:
        def keep(kind: str, before: str, after: str) -> bool:
            ok = guard.keep(before, after)
            if ok and samples:
                result.samples[f"pii_{kind}"] = snippet(before, after)
            return ok

        content, counts = pii(content, program_lang, keep)
        for kind, n in counts.items():
            result.counts[kind.replace("reverted_", "reverted_parse_") if kind.startswith("reverted_")
                          else f"pii_{kind}"] += n
        if any(not k.startswith("reverted_") for k in counts):
            result.counts["pii_files"] += 1
    result.content = content
    return result


def merge_samples(into: dict[str, dict[str, Any]], shard_samples: dict[str, dict[str, Any]]) -> None:
    """Keep, per kind, the sample of the smallest (repo_name, path): the same whatever the sharding."""
    for kind, sample in shard_samples.items():
        cur = into.get(kind)
        if cur is None or (str(sample.get("repo_name")), str(sample.get("path"))) < (
                str(cur.get("repo_name")), str(cur.get("path"))):
            into[kind] = sample
