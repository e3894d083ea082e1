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
from collections import Counter
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
        _bump(self.data["reasons"], reason.split("/", 1)[0] if step == "decontamination" else reason)

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
    ax[0].bar(names, [s["files"] for s in steps], color="#4472c4")
    ax[0].set_title("files remaining after each step")
    ax[1].bar(names, [s["bytes"] / 1e6 for s in steps], color="#ed7d31")
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
    ax.set_title("files per language (top 20 by input)")
    ax.legend()
    fig.tight_layout()
    out["languages.png"] = _png(fig)
    plt.close(fig)

    rules = list(funnel["rule_hits"].items())[:30]
    fig, ax = plt.subplots(figsize=(11, max(3.0, 0.28 * len(rules) + 1)))
    ax.barh([k for k, _ in rules][::-1], [v for _, v in rules][::-1], color="#a5a5a5")
    ax.set_title("rule hits on rejected files (top 30)")
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


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def write_report(output_uri: str, funnel: dict[str, Any], dedup_stats: dict[str, Any],
                 decontamination: dict[str, Any], transform_samples: dict[str, dict[str, Any]] | None = None
                 ) -> list[str]:
    """Write report/funnel.html, the PNG plots and transform_samples.json; returns the files written."""
    import base64

    report = storage.join(output_uri, "report")
    cluster_sizes = dedup_stats.get("cluster_size_histogram", {}) or {"1": 0}
    pngs = _plots(funnel, cluster_sizes)
    written = []
    for name, data in pngs.items():
        uri = storage.join(report, name)
        storage.write_bytes_atomic(uri, data)
        written.append(uri)
    steps = [[s["step"], s["files"], f"{s['bytes'] / 1e6:.2f}", s["removed_files"], f"{s['removed_bytes'] / 1e6:.2f}"]
             for s in funnel["steps"]]
    langs = [[k, v["in_files"], v["kept_files"], f"{v['in_bytes'] / 1e6:.2f}", f"{v['kept_bytes'] / 1e6:.2f}"]
             for k, v in funnel["languages"].items()]
    hits = Counter()
    for h in decontamination.get("hits", []):
        hits[(h["benchmark"], h["task_id"])] += 1
    decon_rows = [[h["benchmark"], h["task_id"], h["by"], h.get("score", ""), h["ngrams"], h.get("repo_name"),
                   h.get("path")] for h in decontamination.get("hits", [])[:500]]
    samples = transform_samples or {}
    uri = storage.join(report, "transform_samples.json")
    storage.write_json_atomic(uri, samples)
    written.append(uri)
    sample_html = "".join(
        f"<h3>{html.escape(kind)}</h3><p>{html.escape(str(s.get('repo_name')))} : {html.escape(str(s.get('path')))}</p>"
        f"<table><tr><th>before</th><th>after</th></tr><tr><td><pre>{html.escape(s['before'])}</pre></td>"
        f"<td><pre>{html.escape(s['after'])}</pre></td></tr></table>" for kind, s in samples.items())
    img = "".join(f'<h3>{html.escape(n)}</h3><img src="data:image/png;base64,{base64.b64encode(d).decode()}">'
                  for n, d in pngs.items())
    dedup_rows = [[k, v] for k, v in dedup_stats.items() if not isinstance(v, (list, dict))]
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>data stage funnel</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}}th{{background:#eee}}pre{{text-align:left;white-space:pre-wrap;margin:0}}</style></head><body>
<h1>RefineCode data stage: funnel</h1>
<h2>Steps (files and MB remaining after each step)</h2>
{_table(["step", "files", "MB", "removed files", "removed MB"], steps)}
<h2>Reasons</h2>{_table(["reason", "files"], [[k, v] for k, v in funnel["reasons"].items()])}
<h2>Languages</h2>{_table(["language", "files in", "files kept", "MB in", "MB kept"], langs)}
<h2>Rule hits (rejected files)</h2>{_table(["rule", "files"], [[k, v] for k, v in funnel["rule_hits"].items()])}
<h2>Transforms</h2>{_table(["transform", "count"], [[k, v] for k, v in funnel["transforms"].items()])}
<h3>One before/after sample per kind</h3>{sample_html or "<p>no transform changed a file</p>"}
<h2>Quarantine</h2>{_table(["reason", "files"], [[k, v] for k, v in funnel["quarantine"].items()])}
<h2>Dedup</h2>{_table(["statistic", "value"], dedup_rows)}
{_table(["cluster size", "clusters"], [[k, v] for k, v in cluster_sizes.items()])}
<h2>Decontamination</h2>{_table(["benchmark", "items", "items hit", "files hit"],
        [[k, v["items"], v["items_hit"], v["files_hit"]] for k, v in decontamination.get("benchmarks", {}).items()])}
{_table(["benchmark", "task", "by", "score", "n-grams", "repo", "path"], decon_rows)}
<h2>Plots</h2>{img}
</body></html>
"""
    uri = storage.join(report, "funnel.html")
    storage.write_text_atomic(uri, page)
    written.append(uri)
    return written
