"""What a flow run shows on its Artifacts tab, built from the stage manifests (never from stage internals).

Per stage: a markdown table (cache hit?, key, in/kept/rejected/quarantined, time, output URI) plus what that
stage is read for: the data funnel, the loss and validation-loss figures (the stage's own PNGs, inline), the pass@k table,
the ``release verify`` result. Per ``reproduce`` run: a link to the run report (``opc_core.run_report``). Per
``retrain`` run: the version it made (``retrain-version``): what it extends, what ran, what was carried over.

Artifact keys are lowercase, dash-separated and stable (``stage-data``, ``run-report``), so the UI keeps a
history of each across runs.
"""

from __future__ import annotations

import base64
from typing import Any

from opc_core import storage
from opc_core.jsonl import read_jsonl
from opc_core.manifest import Manifest


def _row(*cells: Any) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    return "\n".join([_row(*headers), _row(*["---"] * len(headers)), *(_row(*r) for r in rows)])


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.4f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return "-" if v is None else str(v)


def stage_markdown(manifest: Manifest, cached: bool, seconds: float) -> str:
    """The stage-summary artifact: one table of what the stage did, then its stage-specific figures."""
    c = manifest.counts
    lines = [f"## Stage `{manifest.stage}`", "", manifest.summary or "", "",
             _table(["cache hit?", "key", "in", "kept", "rejected", "quarantined", "time (s)", "output"],
                    [["yes" if cached else "no", f"`{manifest.key}`",
                      *(_fmt(x) for x in ((c.records_in, c.kept, c.rejected, c.quarantined) if c else (None,) * 4)),
                      f"{seconds:.1f}", f"`{manifest.artifact_uri or manifest.uri}`"]])]
    m = manifest.metrics
    funnel = m.get("funnel") if isinstance(m.get("funnel"), dict) else None
    if funnel and funnel.get("steps"):
        lines += ["", "### Data funnel", "",
                  _table(["step", "files", "bytes", "removed files"],
                         [[s["step"], _fmt(s["files"]), _fmt(s["bytes"]), _fmt(s["removed_files"])]
                          for s in funnel["steps"]])]
    metrics_uri = storage.join(manifest.uri, "metrics.jsonl")
    if storage.exists(metrics_uri):
        rows = read_jsonl(metrics_uri)
        val = [r for r in rows if "val_loss" in r]
        train = [r for r in rows if "loss" in r]
        lines += ["", "### Loss", ""]
        if val:
            lines.append(_table(["step", "validation loss"], [[r["step"], f"{r['val_loss']:.4f}"] for r in val]))
        if train:
            lines += ["", f"train loss: first {train[0]['loss']:.4f} (step {train[0]['step']}), "
                          f"last {train[-1]['loss']:.4f} (step {train[-1]['step']})"]
        if isinstance(m.get("unigram_val_loss"), float):
            lines.append(f"unigram baseline (validation): {m['unigram_val_loss']:.4f}")
    passk = {b: v for b, v in m.items() if isinstance(v, dict) and any(k.startswith("pass@") for k in v)}
    if passk:
        lines += ["", "### pass@k", "",
                  _table(["benchmark", "mode", "tasks", "samples", "pass@k"],
                         [[b, v.get("mode", ""), _fmt(v.get("n_tasks")), _fmt(v.get("n_samples")),
                           ", ".join(f"{k} {v[k]:.3f}" for k in sorted(v) if k.startswith("pass@"))]
                          for b, v in passk.items()])]
    verify = m.get("verify") if isinstance(m.get("verify"), dict) else None
    if verify:
        lines += ["", "### release verify", "",
                  _table(["check", "result"], [[k, "PASS" if ok else "FAIL"] for k, ok in verify.items()])]
    lines += _figures(manifest)
    return "\n".join(lines) + "\n"


MAX_FIGURE_BYTES = 400_000


def _figures(manifest: Manifest) -> list[str]:
    """The pictures the stage drew itself (``loss.png``, ``pass_at_k.png``, ``report/*.png``), inline: the UI
    renders data-URI images in markdown artifacts, and the output folder may be on another machine."""
    out = []
    for rel in storage.list_files(manifest.uri):
        if rel.endswith(".png") and ("/" not in rel or rel.startswith("report/")):
            data = storage.read_bytes(storage.join(manifest.uri, rel))
            if len(data) <= MAX_FIGURE_BYTES:
                out += ["", f"![{rel}](data:image/png;base64,{base64.b64encode(data).decode()})"]
    return out


def publish_stage_artifact(manifest: Manifest, cached: bool, seconds: float) -> None:
    from prefect.artifacts import create_markdown_artifact

    create_markdown_artifact(key=f"stage-{manifest.stage.replace('_', '-')}",
                             markdown=stage_markdown(manifest, cached, seconds),
                             description=f"{manifest.stage}: {manifest.summary or ''}"[:500])


def publish_report_link(report_uri: str) -> None:
    from prefect.artifacts import create_link_artifact

    link = report_uri if storage.is_remote(report_uri) else f"file://{report_uri}"
    create_link_artifact(key="run-report", link=link, link_text="run report (report.html)",
                         description="the whole run on one page: funnel, curves, eval, release checks, lineage")


def version_markdown(entry: dict[str, Any], reason: str, manifests: dict[str, Manifest]) -> str:
    """The retrain-version artifact: the version, why it ran, and each stage's output (new or carried over)."""
    rows = []
    for stage, out in entry["outputs"].items():
        m = manifests.get(stage)
        how = "ran" if stage in entry["ran"] else f"carried over from version {entry['extends']}"
        extends = m.inputs["previous"].key if m is not None and "previous" in m.inputs else "-"
        rows.append([stage, f"`{out['key']}`", how, f"`{extends}`" if extends != "-" else "-",
                     (m.summary if m is not None else "")[:160]])
    return "\n".join([f"## Version {entry['version']}", "", reason, "",
                      _table(["stage", "key", "this version", "extends", "summary"], rows)])


def publish_version_artifact(entry: dict[str, Any], reason: str, manifests: dict[str, Manifest]) -> None:
    from prefect.artifacts import create_markdown_artifact

    create_markdown_artifact(key="retrain-version", markdown=version_markdown(entry, reason, manifests),
                             description=f"version {entry['version']}: {reason}"[:500])
