"""``report/synth.html``: the funnel per set (generated -> parsed -> executed -> passed -> deduped ->
decontaminated) and the rejection reasons, as plain HTML tables (no timings: the report is part of
the deterministic output)."""

from __future__ import annotations

import html
from typing import Any

STEPS = ("generated", "answered", "parsed", "executed", "passed", "deduped", "decontaminated")


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render(funnel: dict[str, dict[str, int]], reasons: dict[str, dict[str, int]], teacher: str, title: str) -> str:
    steps = _table(["set", *STEPS], [[name, *(f.get(s, 0) for s in STEPS)] for name, f in funnel.items()])
    all_reasons = sorted({r for per in reasons.values() for r in per})
    why = _table(["set", *all_reasons], [[name, *(per.get(r, 0) for r in all_reasons)] for name, per in reasons.items()])
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>synth report</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child{text-align:left}</style>"
        f"</head><body><h1>synth: {html.escape(title)}</h1><p>teacher: {html.escape(teacher)}</p>"
        f"<h2>Funnel</h2>{steps}<p>executed: samples run in the sandbox (code + tests); for generators checked "
        f"by syntax only it counts the samples whose Python compiled.</p><h2>Rejections</h2>{why}</body></html>\n"
    )
