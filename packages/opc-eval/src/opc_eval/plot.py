"""The eval stage's picture: pass@k per benchmark as grouped bars (``pass_at_k.png``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plot_pass_at_k(summaries: dict[str, dict[str, Any]], path: str | Path, title: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(summaries)
    ks = sorted({k for s in summaries.values() for k in s if k.startswith("pass@")}, key=lambda k: int(k[5:]))
    fig, ax = plt.subplots(figsize=(max(4, 1.6 * len(names) + 2), 3.5))
    width = 0.8 / max(1, len(ks))
    for j, k in enumerate(ks):
        xs = [i + j * width for i in range(len(names))]
        vals = [100 * summaries[n].get(k, 0.0) for n in names]
        ax.bar(xs, vals, width, label=k)
        for x, v in zip(xs, vals, strict=True):
            ax.text(x, v + 1, f"{v:.1f}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks([i + width * (len(ks) - 1) / 2 for i in range(len(names))])
    ax.set_xticklabels([f"{n}\n({summaries[n].get('n_tasks', 0)} tasks)" for n in names])
    ax.set_ylabel("% of tasks")
    ax.set_ylim(0, 105)
    ax.set_title(title or "pass@k")
    if ks:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
