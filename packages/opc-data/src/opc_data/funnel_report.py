"""The funnel: files and bytes through each step of the ``data`` stage, as numbers and as a report.

Where it sits: the end of the ``data`` stage. Each shard worker counts into a ``FunnelCounter``
(plain nested dicts, so counters merge across processes and Spark tasks by addition); the stage
merges them, stores ``funnel_metrics()`` in the manifest (``metrics.funnel``) and writes

    report/funnel.html          one page: the step table, per-language table, rule hits, transforms,
                                dedup cluster sizes, decontamination hits, with the plots inline
    report/funnel_steps.png     files and bytes remaining after each step
    report/languages.png        files in / kept per language (top 20)
    report/rule_hits.png        how often each rule fired on rejected files (top 30)
    report/dedup_clusters.png   dedup cluster sizes (records per kept file's cluster)
    report/transform_samples.json  one before/after sample per transform kind (also in funnel.html)

What it does NOT do: decide anything (the steps do) or read the datasets back (counts come from the
workers, so the report costs nothing extra).
"""

from __future__ import annotations

import html
import io
from typing import Any

from opc_core import storage

STEPS: tuple[str, ...] = ("input", "quarantine", "license", "dedup", "filter", "sampling", "decontamination")


class FunnelCounter:
    """Per-step removals, per-language in/kept, rule hits, transform counts; merge by ``merge``."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self.data: dict[str, Any] = data or {
            "removed": {s: {"files": 0, "bytes": 0} for s in STEPS[1:]},
            "input": {"files": 0, "bytes": 0},
            "kept": {"files": 0, "bytes": 0, "content_bytes": 0},
            "languages": {},
            "reasons": {},
            "rules": {},
            "quarantine": {},
            "transforms": {},
            "dedup_kinds": {},
            "step_reasons": {},
        }

    def _lang(self, lang: str) -> dict[str, int]:
        return self.data["languages"].setdefault(lang or "unknown", {"in_files": 0, "in_bytes": 0,
                                                                      "kept_files": 0, "kept_bytes": 0})

    def seen(self, lang: str, size: int) -> None:
        self.data["input"]["files"] += 1
        self.data["input"]["bytes"] += size
        entry = self._lang(lang)
        entry["in_files"] += 1
        entry["in_bytes"] += size

    def removed(self, step: str, reason: str, size: int) -> None:
        self.data["removed"][step]["files"] += 1
        self.data["removed"][step]["bytes"] += size
        reason = reason.split("/", 1)[0] if step == "decontamination" else reason
        _bump(self.data["reasons"], reason)
        _bump(self.data.setdefault("step_reasons", {}).setdefault(step, {}), reason)

    def kept(self, lang: str, size: int, content_bytes: int) -> None:
        self.data["kept"]["files"] += 1
        self.data["kept"]["bytes"] += size
        self.data["kept"]["content_bytes"] += content_bytes
        entry = self._lang(lang)
        entry["kept_files"] += 1
        entry["kept_bytes"] += size

    def count(self, table: str, key: str, n: int = 1) -> None:
        _bump(self.data[table], key, n)

    def merge(self, other: FunnelCounter | dict[str, Any]) -> FunnelCounter:
        _add(self.data, other.data if isinstance(other, FunnelCounter) else other)
        return self


def _bump(table: dict[str, int], key: str, n: int = 1) -> None:
    table[key] = table.get(key, 0) + n


def _add(into: dict[str, Any], other: dict[str, Any]) -> None:
    for key, value in other.items():
        if isinstance(value, dict):
            _add(into.setdefault(key, {}), value)
        else:
            into[key] = into.get(key, 0) + value


def funnel_metrics(counter: FunnelCounter) -> dict[str, Any]:
    """The manifest's ``metrics.funnel``: files/bytes remaining after each step, and the breakdowns."""
    d = counter.data
    files, size = d["input"]["files"], d["input"]["bytes"]
    steps = [{"step": "input", "files": files, "bytes": size, "removed_files": 0, "removed_bytes": 0}]
    for step in STEPS[1:]:
        r = d["removed"][step]
        files -= r["files"]
        size -= r["bytes"]
        steps.append({"step": step, "files": files, "bytes": size, "removed_files": r["files"],
                      "removed_bytes": r["bytes"]})
    langs = dict(sorted(d["languages"].items(), key=lambda kv: (-kv[1]["in_files"], kv[0])))
    return {
        "steps": steps,
        "kept": dict(d["kept"]),
        "languages": langs,
        "reasons": dict(sorted(d["reasons"].items(), key=lambda kv: (-kv[1], kv[0]))),
        "rule_hits": dict(sorted(d["rules"].items(), key=lambda kv: (-kv[1], kv[0]))),
        "quarantine": dict(sorted(d["quarantine"].items())),
        "transforms": dict(sorted(d["transforms"].items())),
        "dedup_kinds": dict(sorted(d["dedup_kinds"].items())),
        "step_reasons": {step: dict(sorted(r.items(), key=lambda kv: (-kv[1], kv[0])))
                         for step, r in sorted(d.get("step_reasons", {}).items())},
    }


def format_table(funnel: dict[str, Any]) -> str:
    """A short plain-text funnel for logs and the stage summary."""
    lines = [f"{'step':<16}{'files':>9}{'MB':>10}{'removed':>10}"]
    for s in funnel["steps"]:
        lines.append(f"{s['step']:<16}{s['files']:>9}{s['bytes'] / 1e6:>10.2f}{s['removed_files']:>10}")
    return "\n".join(lines)


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return buf.getvalue()


def _plots(funnel: dict[str, Any], cluster_sizes: dict[str, int]) -> dict[str, bytes]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: dict[str, bytes] = {}
    steps = funnel["steps"]
    fig, ax = plt.subplots(1, 2, figsize=(11, 3.8))
    names = [s["step"] for s in steps]
    bars = ax[0].bar(names, [s["files"] for s in steps], color="#4472c4")
    ax[0].bar_label(bars, labels=[f"{s['files']:,}" for s in steps], fontsize=8)
    ax[0].set_title("files remaining after each step")
    bars = ax[1].bar(names, [s["bytes"] / 1e6 for s in steps], color="#ed7d31")
    ax[1].bar_label(bars, labels=[f"{s['bytes'] / 1e6:,.2f}" for s in steps], fontsize=8)
    ax[1].set_title("MB remaining after each step")
    for a in ax:
        a.tick_params(axis="x", rotation=35)
    fig.tight_layout()
    out["funnel_steps.png"] = _png(fig)
    plt.close(fig)

    langs = list(funnel["languages"].items())[:20]
    fig, ax = plt.subplots(figsize=(11, 4))
    xs = range(len(langs))
    ax.bar([x - 0.2 for x in xs], [v["in_files"] for _, v in langs], width=0.4, label="in")
    ax.bar([x + 0.2 for x in xs], [v["kept_files"] for _, v in langs], width=0.4, label="kept")
    ax.set_xticks(list(xs), [k for k, _ in langs], rotation=45, ha="right")
    ax.set_yscale("symlog", linthresh=1)
    ax.set_ylabel("files (log scale)")
    ax.set_title("files per language (top 20 by input)")
    ax.legend()
    fig.tight_layout()
    out["languages.png"] = _png(fig)
    plt.close(fig)

    rules = list(funnel["rule_hits"].items())[:30]
    fig, ax = plt.subplots(figsize=(11, max(3.0, 0.28 * len(rules) + 1)))
    ax.barh([k for k, _ in rules][::-1], [v for _, v in rules][::-1], color="#a5a5a5")
    ax.set_title("rule hits on rejected files (top 30; one file can trip several rules)")
    fig.tight_layout()
    out["rule_hits.png"] = _png(fig)
    plt.close(fig)

    sizes = sorted(((int(k), v) for k, v in cluster_sizes.items()), key=lambda kv: kv[0])
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.bar([str(k) for k, _ in sizes], [v for _, v in sizes], color="#70ad47")
    ax.set_yscale("log")
    ax.set_xlabel("records in the cluster (1 = no duplicate)")
    ax.set_ylabel("clusters")
    ax.set_title("dedup cluster sizes")
    fig.tight_layout()
    out["dedup_clusters.png"] = _png(fig)
    plt.close(fig)
    return out


STEP_MEANING: dict[str, str] = {
    "input": "every record read from the sources",
    "quarantine": "records that could not be read as text (undecodable, oversized, malformed): kept aside with the error",
    "license": "repositories whose licence the recipe denies",
    "dedup": "exact copies (SHA-256 of content) and near copies (MinHash-LSH); the copy with most stars, then the "
             "latest commit, is kept",
    "filter": "files that fail a heuristic rule (natural-language, general-code or language-specific), or have "
              "no document type",
    "sampling": "per-language down-sampling (the paper's Java and HTML rates)",
    "decontamination": "files sharing an n-gram or a function with an eval benchmark",
}
_FAMILY = {"doc": "text", "code": "code", "codepython": "Python", "codec": "C", "codecpp": "C++",
           "codecsharp": "C#", "codejava": "Java", "codejavascript": "JavaScript", "codego": "Go",
           "codehtml": "HTML"}


def rule_meaning(rule: str) -> str:
    """A reading of an OpenCoder signal name: ``qsc_code_frac_chars_alphabet`` -> "code: share of characters
    that are alphabet". Names follow ``qsc_<family>_<kind>_<what>`` (the reference filter's convention)."""
    parts = rule.split("_")
    if len(parts) < 3 or parts[0] != "qsc":
        return rule.replace("_", " ")
    family = _FAMILY.get(parts[1], parts[1])
    kind, rest = parts[2], " ".join(parts[3:])
    if kind == "frac" and len(parts) > 4:
        unit, what = parts[3], " ".join(parts[4:])
        text = f"share of {unit} that are {what}"
    elif kind == "num":
        text = f"number of {rest}"
    elif kind == "cate":
        text = f"flag: {rest}"
    elif kind == "score":
        text = f"score: {rest}"
    else:
        text = f"{kind} {rest}".strip()
    return f"{family}: {text}"


def rule_thresholds() -> dict[str, str]:
    """Each rule's reference drop condition and the scopes it holds in: ``{signal: "drop if < 3 (text-en)"}``;
    a condition shared by every code scope says so instead of listing them."""
    scopes = _raw_scopes()
    code_scopes = [s for s in scopes if s.startswith("code-")]
    by_cond: dict[str, dict[str, list[str]]] = {}
    for scope, rules in scopes.items():
        for signal, spec in rules.items():
            if spec:
                cond = " or ".join(f"{op} {v:g}" if isinstance(v, int | float) else f"{op} {v}"
                                   for op, v in spec.get("drop_if_any", []))
                rate = f", random_fire_rate {spec['random_fire_rate']:g}" if spec.get("random_fire_rate") else ""
                by_cond.setdefault(signal, {}).setdefault(f"drop if {cond}{rate}", []).append(scope)
    out = {}
    for signal, conds in by_cond.items():
        parts = []
        for cond, where in conds.items():
            label = f"all {len(code_scopes)} code scopes" if len(code_scopes) > 2 and sorted(where) == sorted(
                code_scopes) else ", ".join(where)
            parts.append(f"{cond} ({label})")
        out[signal] = "; ".join(parts)
    return out


def _raw_scopes() -> dict[str, dict[str, Any]]:
    import json
    from importlib.resources import files

    return json.loads(files("opc_data.rules").joinpath("reference_thresholds.json").read_text())["scopes"]


def report_header(ctx: Any) -> dict[str, str]:
    """The page header: recipe, data key and the date the report was written (report/ is volatile)."""
    from datetime import UTC, datetime

    return {"recipe": ctx.recipe_name, "data key": ctx.key, "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}


def _esc(v: Any) -> str:
    return html.escape(str(v))


def _n(v: Any) -> str:
    return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else _esc(v)


def _mb(b: float) -> str:
    """Bytes for reading: ``245.59 kB``, ``1.20 GB``."""
    for unit, div in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(b) >= div:
            return f"{b / div:,.2f} {unit}"
    return f"{b:,.0f} B"


def _table(headers: list[str], rows: list[list[Any]], num: set[int] | None = None, empty: str = "none") -> str:
    """An HTML table: names left, numbers (columns in ``num``, or ints) right; ``empty`` when there are no rows."""
    if not rows:
        return f'<p class="empty">{_esc(empty)}</p>'
    num = num or set()
    head = "".join(f'<th class="{"num" if i in num else "txt"}">{_esc(h)}</th>' for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(
        f'<td class="{"num" if i in num or isinstance(c, int) else "txt"}">{c if isinstance(c, _Raw) else _n(c)}</td>'
        for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


class _Raw(str):
    """Already-escaped HTML for a table cell (a bar)."""


def _bar(value: float, top: float, log: bool = False, color: str = "#4472c4") -> _Raw:
    import math

    frac = (math.log10(1 + value) / math.log10(1 + top) if log else value / top) if top > 0 else 0.0
    return _Raw(f'<span class="bar" style="width:{max(0.0, frac) * 240:.0f}px;background:{color}"></span>')


def summary_line(counts: dict[str, int]) -> str:
    """``in = kept + rejected + quarantined`` with the numbers, as the page's first line says it."""
    return (f"{counts['in']:,} in = {counts['kept']:,} kept + {counts['rejected']:,} rejected + "
            f"{counts['quarantined']:,} quarantined")


def render_page(funnel: dict[str, Any], dedup_stats: dict[str, Any], decontamination: dict[str, Any],
                counts: dict[str, int], header: dict[str, str], pngs: dict[str, bytes],
                transform_samples: dict[str, dict[str, Any]] | None = None) -> str:
    """The whole ``funnel.html`` as a string (pure: the tests parse it)."""
    import base64

    steps = funnel["steps"]
    top = steps[0]["files"] or 1
    step_reasons = funnel.get("step_reasons", {})
    step_rows = []
    for s in steps:
        reasons = step_reasons.get(s["step"], {})
        removed = ", ".join(f"{k} {v:,}" for k, v in list(reasons.items())[:6])
        step_rows.append([s["step"], _bar(s["files"], top), s["files"], _mb(s["bytes"]), s["removed_files"],
                          _mb(s["removed_bytes"]), STEP_MEANING.get(s["step"], "") + (f" — here: {removed}"
                                                                                      if removed else "")])
    langs = funnel["languages"]
    ltop = max((v["in_files"] for v in langs.values()), default=1)
    lang_rows = [[k, _bar(v["kept_files"], ltop, log=True, color="#70ad47"), v["in_files"], v["kept_files"],
                  _mb(v["in_bytes"]), _mb(v["kept_bytes"])] for k, v in langs.items()]
    thresholds = rule_thresholds()
    hits = funnel.get("rule_hits", {})
    rule_rows = [[k, rule_meaning(k), thresholds.get(k, "(recipe threshold)"), v] for k, v in hits.items()]
    filter_removed = next((s["removed_files"] for s in steps if s["step"] == "filter"), 0)
    by_rules = step_reasons.get("filter", {}).get("rules", filter_removed)
    q_step = next((s for s in steps if s["step"] == "quarantine"), {"removed_files": 0, "removed_bytes": 0})
    q_rows = [[k, v] for k, v in funnel.get("quarantine", {}).items()]
    decon_bench = [[k, v["items"], v["items_hit"], v["files_hit"]]
                   for k, v in decontamination.get("benchmarks", {}).items()]
    decon_hits = [[h["benchmark"], h["task_id"], h["by"], h.get("score", ""), h["ngrams"], h.get("repo_name"),
                   h.get("path")] for h in decontamination.get("hits", [])[:500]]
    sample_html = "".join(
        f"<h3>{_esc(kind)}</h3><p>{_esc(s.get('repo_name'))} : {_esc(s.get('path'))}</p>"
        f'<table><tr><th class="txt">before</th><th class="txt">after</th></tr><tr><td class="txt"><pre>'
        f'{_esc(s["before"])}</pre></td><td class="txt"><pre>{_esc(s["after"])}</pre></td></tr></table>'
        for kind, s in (transform_samples or {}).items())
    cluster_sizes = dedup_stats.get("cluster_size_histogram", {}) or {}
    dedup_rows = [[k, v] for k, v in dedup_stats.items() if not isinstance(v, list | dict)]
    img = "".join(f'<h3>{_esc(n)}</h3><img alt="{_esc(n)}" src="data:image/png;base64,{base64.b64encode(d).decode()}">'
                  for n, d in pngs.items())
    head = " · ".join(f"{_esc(k)} <b>{_esc(v)}</b>" for k, v in header.items())
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>data stage funnel: {_esc(header.get('recipe', ''))}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:80em}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:2px 8px}}th{{background:#eee}}.num{{text-align:right;font-variant-numeric:tabular-nums}}
.txt{{text-align:left}}pre{{text-align:left;white-space:pre-wrap;margin:0}}.bar{{display:inline-block;height:0.9em}}.empty{{color:#555;font-style:italic}}
#summary{{font-size:1.3em}}.note{{color:#444}}</style></head><body>
<h1>RefineCode data stage: funnel</h1>
<p class="header">{head}</p>
<p id="summary" data-in="{counts['in']}" data-kept="{counts['kept']}" data-rejected="{counts['rejected']}" data-quarantined="{counts['quarantined']}">{_esc(summary_line(counts))}</p>
<h2>Funnel: files remaining after each step, and what each step removed</h2>
{_table(["step", "files remaining", "files", "bytes", "files removed", "bytes removed", "what the step removed"],
        step_rows, {2, 3, 4, 5})}
<h2>Languages: files in and kept</h2>
<p class="note">Bar: files kept, on a log scale (a language with 10 files is still visible beside one with 10,000).</p>
{_table(["language", "files kept (log scale)", "files in", "files kept", "bytes in", "bytes kept"], lang_rows,
        {2, 3, 4, 5})}
<h2>Rule hits (files the filter rejected)</h2>
<p class="note">One file can trip several rules, so the hits below add up to more than the {by_rules:,} files rejected by rules. Thresholds are the reference filter's (opc_data_filtering) unless the recipe overrides them (see the manifest's config).</p>
{_table(["rule", "what it measures", "threshold (scope)", "files"], rule_rows, {3}, "no rule fired")}
<h2>Removal reasons (one per removed file)</h2>
{_table(["reason", "files"], [[k, v] for k, v in funnel["reasons"].items()], {1}, "nothing removed")}
<h2>Transforms (files kept, content changed)</h2>
{_table(["transform", "count"], [[k, v] for k, v in funnel["transforms"].items()], {1}, "no transform applied")}
<h3>One before/after sample per kind</h3>{sample_html or "<p>no transform changed a file</p>"}
<h2>Quarantine</h2>
<p>{q_step['removed_files']:,} file{'' if q_step['removed_files'] == 1 else 's'}, {q_step['removed_bytes']:,} bytes quarantined (kept aside with the error, in <code>quarantined/</code>).</p>
{_table(["reason", "files"], q_rows, {1}, "nothing quarantined")}
<h2>Dedup</h2>{_table(["statistic", "value"], dedup_rows, {1})}
{_table(["cluster size", "clusters"], [[k, v] for k, v in cluster_sizes.items()], {0, 1}, "no clusters")}
<h2>Decontamination</h2>
{_table(["benchmark", "items", "items hit", "files hit"], decon_bench, {1, 2, 3}, "no benchmark configured")}
{_table(["benchmark", "task", "by", "score", "n-grams", "repo", "path"], decon_hits, {3, 4},
        "no hits: no kept file overlaps a benchmark item")}
<h2>Plots</h2>{img}
</body></html>
"""


def write_report(output_uri: str, funnel: dict[str, Any], dedup_stats: dict[str, Any],
                 decontamination: dict[str, Any], transform_samples: dict[str, dict[str, Any]] | None = None,
                 counts: dict[str, int] | None = None, header: dict[str, str] | None = None) -> list[str]:
    """Write report/funnel.html, the PNG plots and transform_samples.json; returns the files written."""
    report = storage.join(output_uri, "report")
    cluster_sizes = dedup_stats.get("cluster_size_histogram", {}) or {"1": 0}
    pngs = _plots(funnel, cluster_sizes)
    written = []
    for name, data in pngs.items():
        uri = storage.join(report, name)
        storage.write_bytes_atomic(uri, data)
        written.append(uri)
    samples = transform_samples or {}
    uri = storage.join(report, "transform_samples.json")
    storage.write_json_atomic(uri, samples)
    written.append(uri)
    if counts is None:  # from the funnel alone: everything not kept was rejected (no quarantine split known)
        q = next((s["removed_files"] for s in funnel["steps"] if s["step"] == "quarantine"), 0)
        n_in, kept = funnel["steps"][0]["files"], funnel["steps"][-1]["files"]
        counts = {"in": n_in, "kept": kept, "rejected": n_in - kept - q, "quarantined": q}
    page = render_page(funnel, dedup_stats, decontamination, counts, header or {}, pngs, samples)
    uri = storage.join(report, "funnel.html")
    storage.write_text_atomic(uri, page)
    written.append(uri)
    return written
