"""``report.html``: one self-contained page per recipe run, built only from manifests and stage outputs.

Where it sits: after ``opc reproduce`` (the CLI prints its path) and at the end of the Prefect ``reproduce``
flow (a link artifact points at it). It reads the run record (``_runs/<recipe>.json``: which key of each stage
the latest run used), each of those outputs' ``_MANIFEST.json``, and a few files the stages write anyway
(``metrics.jsonl`` of training stages, ``results.jsonl`` of eval, PNGs under ``report/``)::

    _runs/<recipe>.json ─▶ stage -> key ─▶ <stage>/<key>/_MANIFEST.json ─┬▶ stage table, lineage
                                                                          ├▶ data funnel / languages / dedup
                                                                          ├▶ loss + lr curves (metrics.jsonl)
                                                                          ├▶ pass@k + failure kinds (results.jsonl)
                                                                          ├▶ release checks
                                                                          └▶ other stages: their metrics + PNGs

Everything is inline (PNG as data URIs, CSS in the page), so the file opens offline from anywhere. Stages
this module does not know (recall, synth, ...) still get their counts, their scalar metrics and the
pictures they wrote under ``report/``.

What it does NOT do: recompute anything a stage decided, or read a stage's internals beyond its documented
output files; a missing optional file leaves its section out rather than failing the report.
"""

from __future__ import annotations

import base64
import html
import io
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from opc_core import storage
from opc_core.jsonl import read_jsonl
from opc_core.manifest import Manifest, try_read_manifest

REPORT_NAME = "report.html"
_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#1b1b1b;line-height:1.4}
h1{margin-bottom:.2rem}h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #ddd;padding:.25rem .6rem;
vertical-align:top}th{background:#f4f4f4;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
.muted{color:#666}.ok{color:#17631a;font-weight:600}.bad{color:#a11;font-weight:600}img{max-width:100%}
code{background:#f4f4f4;padding:0 .2rem}
"""


def report_uri(workdir: str, recipe_name: str) -> str:
    """Where the latest run of ``recipe_name`` keeps its report: ``<workdir>/_runs/<recipe>/report.html``."""
    return storage.join(workdir, "_runs", recipe_name, REPORT_NAME)


def latest_run(workdir: str, recipe_name: str) -> dict[str, str]:
    """stage -> key of the latest run of the recipe (the run record ``opc gc`` also reads)."""
    uri = storage.join(workdir, "_runs", f"{recipe_name}.json")
    if not storage.exists(uri):
        return {}
    return {stage: entry["key"] for stage, entry in storage.read_json(uri).get("stages", {}).items()}


# ---- small HTML helpers --------------------------------------------------------------------------------

def _e(value: Any) -> str:
    return html.escape(str(value))


def _num(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return _e("-" if value is None else value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4f}" if abs(value) < 1000 else f"{value:,.0f}"
    return _e(value)


def _table(headers: list[str], rows: list[list[Any]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="n">{_num(c)}</td>' if i in numeric else f"<td>{c if isinstance(c, _Raw) else _e(c)}</td>"
                         for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


class _Raw(str):
    """Already-escaped HTML for a table cell."""


def _png(data: bytes, alt: str) -> str:
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'


def _figure_png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def _read_jsonl(uri: str) -> list[dict[str, Any]]:
    return read_jsonl(uri) if storage.exists(uri) else []


# ---- sections ------------------------------------------------------------------------------------------

def _stage_table(manifests: list[Manifest]) -> str:
    rows = []
    for m in manifests:
        c = m.counts
        rows.append([m.stage, _Raw(f"<code>{_e(m.key)}</code>"), m.created,
                     c.records_in if c else None, c.kept if c else None, c.rejected if c else None,
                     c.quarantined if c else None, f"{m.timings['wall_s']:.1f}" if "wall_s" in m.timings else None,
                     m.summary or ""])
    return _table(["stage", "key", "created", "in", "kept", "rejected", "quarantined", "seconds", "summary"], rows,
                  numeric={3, 4, 5, 6, 7})


def _data_section(m: Manifest) -> str:
    funnel = m.metrics.get("funnel") or {}
    parts = []
    steps = funnel.get("steps") or []
    if steps:
        parts.append("<h3>Funnel per step</h3>" + _table(
            ["step", "files", "bytes", "removed files", "removed bytes"],
            [[s["step"], s["files"], s["bytes"], s["removed_files"], s["removed_bytes"]] for s in steps],
            numeric={1, 2, 3, 4}))
    langs = funnel.get("languages") or {}
    if langs:
        rows = sorted(langs.items(), key=lambda kv: -kv[1].get("in_bytes", 0))
        parts.append("<h3>Per language</h3>" + _table(
            ["language", "files in", "files kept", "bytes in", "bytes kept"],
            [[k, v.get("in_files", 0), v.get("kept_files", 0), v.get("in_bytes", 0), v.get("kept_bytes", 0)]
             for k, v in rows], numeric={1, 2, 3, 4}))
    reasons = funnel.get("reasons") or {}
    if reasons:
        parts.append("<h3>Why files were removed</h3>" + _table(
            ["reason", "files"], sorted(reasons.items(), key=lambda kv: -kv[1]), numeric={1}))
    hits = funnel.get("rule_hits") or {}
    if hits:
        parts.append("<h3>Rule hits</h3><p class='muted'>One file can trip several rules.</p>" + _table(
            ["rule", "files"], sorted(hits.items(), key=lambda kv: -kv[1])[:40], numeric={1}))
    dedup = m.metrics.get("dedup") or {}
    if dedup:
        hist = dedup.get("cluster_size_histogram") or {}
        parts.append("<h3>Deduplication</h3>" + _table(
            ["records", "exact removed", "fuzzy removed", "kept", "level", "bands x rows"],
            [[dedup.get("records"), dedup.get("exact_removed"), dedup.get("fuzzy_removed"), dedup.get("kept"),
              dedup.get("level"), f"{dedup.get('bands')} x {dedup.get('rows')}"]], numeric={0, 1, 2, 3}))
        if hist:
            parts.append(_table(["cluster size", "clusters"], sorted(hist.items(), key=lambda kv: int(kv[0])),
                                numeric={1}))
    decon = m.metrics.get("decontamination") or {}
    if decon:
        rows = [[b, v.get("items"), v.get("items_hit"), v.get("files_hit")] for b, v in decon.items()]
        hit = any(r[3] for r in rows)
        parts.append("<h3>Decontamination</h3>" + _table(["benchmark", "items", "items hit", "files removed"], rows,
                                                         numeric={1, 2, 3})
                     + ("" if hit else "<p class='muted'>no hits</p>"))
    return "".join(parts)


def _training_section(m: Manifest) -> str:
    rows = _read_jsonl(storage.join(m.uri, "metrics.jsonl"))
    train = [r for r in rows if "loss" in r and "step" in r]
    val = [r for r in rows if "val_loss" in r and "step" in r]
    parts = []
    scalars = {k: v for k, v in m.metrics.items() if isinstance(v, (int, float, str)) and not isinstance(v, bool)}
    if scalars:
        parts.append(_table(["metric", "value"], [[k, v] for k, v in scalars.items()], numeric={1}))
    if train:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7.5, 3.4))
        ax.plot([r["step"] for r in train], [r["loss"] for r in train], label="train loss", lw=1)
        if val:
            ax.plot([r["step"] for r in val], [r["val_loss"] for r in val], "o-", label="validation loss")
        unigram = m.metrics.get("unigram_val_loss")
        if isinstance(unigram, float):
            ax.axhline(unigram, ls="--", color="grey", label=f"unigram baseline {unigram:.3f}")
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        if any("lr" in r for r in train):
            ax2 = ax.twinx()
            ax2.plot([r["step"] for r in train], [r.get("lr", 0.0) for r in train], color="tab:green", lw=1,
                     label="learning rate")
            ax2.set_ylabel("learning rate")
            lines, labels = ax.get_legend_handles_labels()
            lines2, labels2 = ax2.get_legend_handles_labels()
            ax.legend(lines + lines2, labels + labels2, fontsize=8)
        else:
            ax.legend(fontsize=8)
        ax.set_title(f"{m.stage} {m.key}: loss and learning rate")
        parts.append(_png(_figure_png(fig), f"{m.stage} loss and learning rate"))
        plt.close(fig)
    return "".join(parts)


def _failure_kind(result: str) -> str:
    text = (result or "").lower()
    if text == "passed":
        return "passed"
    for kind in ("timed out", "syntaxerror", "assertionerror", "skipped"):
        if kind in text:
            return {"timed out": "timeout", "syntaxerror": "syntax error", "assertionerror": "wrong answer",
                    "skipped": "skipped"}[kind]
    return "other error"


def _eval_section(m: Manifest) -> str:
    rows = []
    for bench, v in m.metrics.items():
        if isinstance(v, dict) and any(k.startswith("pass@") for k in v):
            ks = ", ".join(f"{k} {v[k]:.3f}" for k in sorted(v) if k.startswith("pass@"))
            rows.append([bench, v.get("mode", ""), v.get("n_tasks"), v.get("n_samples"), ks])
    parts = [_table(["benchmark", "mode", "tasks", "samples", "pass@k"], rows, numeric={2, 3})] if rows else []
    results = _read_jsonl(storage.join(m.uri, "results.jsonl"))
    if results:
        kinds = Counter((r.get("benchmark", ""), _failure_kind(r.get("result", ""))) for r in results)
        parts.append("<h3>Outcomes</h3>" + _table(["benchmark", "outcome", "samples"],
                                                  [[b, k, n] for (b, k), n in sorted(kinds.items())], numeric={2}))
    return "".join(parts)


def _release_section(m: Manifest) -> str:
    verify = m.metrics.get("verify") or {}
    rows = [[name, _Raw(f"<span class='{'ok' if ok else 'bad'}'>{'PASS' if ok else 'FAIL'}</span>")]
            for name, ok in verify.items()]
    head = f"<p>{_e(m.metrics.get('name', ''))} {_e(m.metrics.get('version', ''))}: {len(m.metrics.get('files', []))} files, " \
           f"{_num(m.metrics.get('bytes', 0))} bytes</p>"
    return head + (_table(["check", "result"], rows) if rows else "")


def _generic_section(m: Manifest) -> str:
    scalars = [[k, v] for k, v in m.metrics.items() if isinstance(v, (int, float, str)) and not isinstance(v, bool)]
    parts = [_table(["metric", "value"], scalars, numeric={1})] if scalars else []
    fs, root = storage.filesystem(m.uri)
    for rel in storage.list_files(m.uri):
        if rel.endswith(".png") and (rel.startswith("report/") or "/" not in rel):
            parts.append(_png(storage.read_bytes(storage.join(m.uri, rel)), f"{m.stage} {rel}"))
    return "".join(parts)


def _lineage_section(manifests: list[Manifest]) -> str:
    rows = []
    for m in manifests:
        ups = ", ".join(f"{role} = {ref.stage}/{ref.key}" for role, ref in sorted(m.inputs.items())) or "(raw sources)"
        rows.append([m.stage, _Raw(f"<code>{_e(m.key)}</code>"), ups, m.fingerprint])
    return _table(["stage", "key", "inputs (role = stage/key)", "output fingerprint"], rows)


def build_report(workdir: str, recipe_name: str, recipe_version: str = "", pipeline: list[str] | None = None) -> str:
    """The report's HTML for the latest run of ``recipe_name`` under ``workdir``, stages in pipeline order."""
    run = latest_run(workdir, recipe_name)
    manifests = [m for stage, key in run.items() if (m := try_read_manifest(storage.join(workdir, stage, key)))]
    order = [*(pipeline or []), *sorted(run)]
    manifests.sort(key=lambda m: order.index(m.stage))
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = [f"<h1>OpenCoder Cookbook run: {_e(recipe_name)} {_e(recipe_version)}</h1>",
            f"<p class='muted'>workdir {_e(workdir)} · report written {now} · {len(manifests)} stage outputs</p>"]
    if not manifests:
        body.append("<p>No completed stage output is recorded for this recipe yet.</p>")
    else:
        body.append("<h2>Stages</h2>" + _stage_table(manifests))
    for m in manifests:
        if m.stage == "data":
            section = _data_section(m)
        elif storage.exists(storage.join(m.uri, "metrics.jsonl")):
            section = _training_section(m)
        elif m.stage.startswith("eval"):
            section = _eval_section(m)
        elif m.stage == "release":
            section = _release_section(m)
        else:
            section = _generic_section(m)
        body.append(f"<h2 id='{_e(m.stage)}'>{_e(m.stage)}</h2><p class='muted'>{_e(m.summary or '')}</p>{section}")
    if manifests:
        body.append("<h2>Lineage</h2>" + _lineage_section(manifests))
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{_e(recipe_name)} run report</title>"
            f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>\n")


def write_report(recipe: Any) -> str:
    """Write the report of the latest run of ``recipe`` (an ``opc_core.recipe.Recipe``) and return its URI."""
    uri = report_uri(recipe.workdir, recipe.name)
    storage.write_text_atomic(uri, build_report(recipe.workdir, recipe.name, recipe.version, list(recipe.pipeline)))
    return uri
