"""The eval stage's picture (``pass_at_k.png``): pass@k per benchmark, and how the samples failed.

    summary.json  ─▶ left:  pass@k bars per benchmark, labelled "<name> / N tasks x S samples"
    results.jsonl ─▶ right: each benchmark's samples by outcome (passed, wrong answer, syntax error,
                            runtime error, timeout, skipped)

The right panel is what makes the plot useful at any scale: a small model that passes nothing still
shows whether it writes code that parses (wrong answer) or not (syntax error). Not here: scoring (the
outcome strings come from ``scoring.py``), the numbers in the manifest.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

OUTCOMES: tuple[tuple[str, str], ...] = (
    ("passed", "#2e7d32"), ("wrong answer", "#f9a825"), ("syntax error", "#c62828"),
    ("runtime error", "#ef6c00"), ("timeout", "#6a1b9a"), ("skipped", "#9e9e9e"),
)


def outcome_kind(result: str) -> str:
    """One sample's ``result`` string (``scoring.py``) as a failure kind."""
    if result == "passed":
        return "passed"
    if result.startswith("timed out"):
        return "timeout"
    if result.startswith("skipped"):
        return "skipped"
    detail = result.split(":", 1)[1].strip() if ":" in result else ""
    if detail.startswith(("SyntaxError", "IndentationError", "TabError")):
        return "syntax error"
    if detail.startswith("AssertionError") or not detail:
        return "wrong answer"
    return "runtime error"


def outcome_counts(results: list[dict[str, Any]]) -> dict[str, Counter]:
    """``{benchmark: Counter(kind -> samples)}`` from ``results.jsonl`` rows."""
    out: dict[str, Counter] = {}
    for r in results:
        out.setdefault(r["benchmark"], Counter())[outcome_kind(r.get("result", ""))] += 1
    return out


def plot_pass_at_k(summaries: dict[str, dict[str, Any]], path: str | Path, title: str = "",
                   results: list[dict[str, Any]] | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(summaries)
    kinds = outcome_counts(results or [])
    ks = sorted({k for s in summaries.values() for k in s if k.startswith("pass@")}, key=lambda k: int(k[5:]))
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(max(9, 2.2 * len(names) + 6), 3.8 + 0.25 * len(names)),
                                 gridspec_kw={"width_ratios": [1, 1.2]})
    width = 0.8 / max(1, len(ks))
    for j, k in enumerate(ks):
        xs = [i + j * width for i in range(len(names))]
        vals = [100 * summaries[n].get(k, 0.0) for n in names]
        ax.bar(xs, vals, width, label=k)
        for x, v in zip(xs, vals, strict=True):
            ax.text(x, v + 1, f"{v:.1f}%", ha="center", va="bottom", fontsize=8)

    def label(n: str) -> str:
        s = summaries[n]
        per = s.get("samples_per_task") or (s.get("n_samples", 0) // max(1, s.get("n_tasks", 1)))
        return f"{n}\n{s.get('n_tasks', 0):,} tasks x {per} sample{'s' if per != 1 else ''}"

    ax.set_xticks([i + width * (len(ks) - 1) / 2 for i in range(len(names))], [label(n) for n in names], fontsize=8)
    ax.set_ylabel("pass@k (% of tasks)")
    ax.set_ylim(0, 110)
    ax.set_title("pass@k per benchmark", fontsize=10)
    if ks:
        ax.legend(fontsize=8, loc="upper right")
    # outcomes: one stacked horizontal bar per benchmark, as % of its samples (the count on each part)
    seen: set[str] = set()
    for i, n in enumerate(names):
        c, left = kinds.get(n, Counter()), 0.0
        total = sum(c.values())
        for kind, color in OUTCOMES:
            v = c.get(kind, 0)
            if not v:
                continue
            share = 100 * v / total
            bx.barh(i, share, left=left, height=0.5, color=color, label=None if kind in seen else kind)
            seen.add(kind)
            if share >= 8:
                bx.text(left + share / 2, i, f"{v:,}", ha="center", va="center", fontsize=8,
                        color="black" if kind == "wrong answer" else "white")
            left += share
        bx.text(101, i, f"{total:,} samples", va="center", fontsize=8)
    bx.set_yticks(range(len(names)), names, fontsize=8)
    bx.set_ylim(len(names) - 0.5, -0.5)
    bx.set_xlim(0, 125)
    bx.set_xticks([0, 25, 50, 75, 100])
    bx.set_xlabel("% of samples (count on the bar)")
    bx.set_title("how each sample ended", fontsize=10)
    if kinds:
        bx.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.45, -0.2), ncol=min(3, len(seen)), frameon=False)
    else:
        bx.text(0.5, 0.5, "no results.jsonl rows", ha="center", va="center", transform=bx.transAxes)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)
