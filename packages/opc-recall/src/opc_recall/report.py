"""``report/recall.html``: the P/R curve of each iteration (cross-validated), scores, top domains.

Plots are PNG files next to the page (matplotlib, Agg backend); the page is static HTML. The report is
volatile in the stage's fingerprint (PNG bytes depend on the matplotlib build), like the data funnel.
"""

from __future__ import annotations

import html
import io
from typing import Any

from opc_core import storage


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})
    return buf.getvalue()


def write_report(out: str, trained, domains: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from opc_recall.crossval import pr_curve

    cv = trained.metrics["cv"]
    fig, ax = plt.subplots(figsize=(5, 4))
    if len(trained.labels) and trained.labels.sum():
        for k, scores in enumerate(trained.oof_scores):
            p, r, _ = pr_curve(trained.labels, scores)
            ap = cv["iterations"][k].get("average_precision", 0.0)
            ax.step(r, p, where="post", label=f"iteration {k + 1} (AP {ap:.3f})")
        ax.legend(loc="lower left")
    else:
        ax.text(0.5, 0.5, "no labelled seeds: no cross-validation", ha="center")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title(f"domain-grouped {cv['folds']}-fold CV")
    storage.write_bytes_atomic(storage.join(out, "report", "pr_curve.png"), _png(fig))
    plt.close(fig)
    rows = "".join(
        f"<tr><td>{it['iteration']}</td><td>{it.get('average_precision', 0):.3f}</td><td>{it.get('precision', 0):.3f}</td>"
        f"<td>{it.get('recall', 0):.3f}</td><td>{it.get('f1', 0):.3f}</td><td>{it.get('threshold', 0):.3f}</td></tr>"
        for it in cv["iterations"])
    train_rows = "".join(
        f"<tr><td>{t['iteration']}</td><td>{t['positives']}</td><td>{t['pattern_positives']}</td><td>{t['negatives']}</td>"
        f"<td>{t['code_domains']}</td><td>{t['url_patterns']}</td></tr>" for t in trained.metrics["training"])
    top = sorted(domains, key=lambda d: (-d["recalled"], d["domain"]))[:30]
    dom_rows = "".join(f"<tr><td>{html.escape(d['domain'])}</td><td>{d['pages']}</td><td>{d['recalled']}</td>"
                       f"<td>{d['fraction']:.2f}</td><td>{'yes' if d['code_related'] else ''}</td></tr>" for d in top)
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>recall report</title></head><body>
<h1>Code-related web text recall</h1>
<h2>Cross-validation ({cv['pages']} labelled pages, {cv['positives']} positive; folds by registered domain)</h2>
<table border=1><tr><th>iteration</th><th>AP</th><th>precision</th><th>recall</th><th>F1</th><th>threshold</th></tr>{rows}</table>
<img src="pr_curve.png" alt="P/R curve per iteration">
<h2>Iterations (final training)</h2>
<table border=1><tr><th>iteration</th><th>positives</th><th>of which URL-pattern</th><th>negatives</th><th>code domains</th><th>URL patterns</th></tr>{train_rows}</table>
<h2>Top domains of the pool (final model)</h2>
<table border=1><tr><th>domain</th><th>pages</th><th>recalled</th><th>fraction</th><th>code-related</th></tr>{dom_rows}</table>
</body></html>
"""
    storage.write_text_atomic(storage.join(out, "report", "recall.html"), page)
