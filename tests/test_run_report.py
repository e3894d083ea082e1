"""The run report: one self-contained page per recipe run, built from manifests and stage outputs only."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

from opc_core.recipe import load_recipe
from opc_core.run_report import report_uri, write_report


class _Tables(HTMLParser):
    """Every table as rows of cell texts, with the heading (h2/h3) that precedes it."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[tuple[str, list[list[str]]]] = []
        self.heading = ""
        self._in: str | None = None
        self._text = ""
        self.images: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("h2", "h3", "td", "th"):
            self._in, self._text = tag, ""
        if tag == "table":
            self.tables.append((self.heading, []))
        if tag == "tr":
            self.tables[-1][1].append([])
        if tag == "img":
            self.images.append(dict(attrs)["src"])

    def handle_endtag(self, tag):
        if tag in ("h2", "h3"):
            self.heading = self._text.strip()
        if tag in ("td", "th"):
            self.tables[-1][1][-1].append(self._text.strip())
        self._in = None if tag == self._in else self._in

    def handle_data(self, data):
        if self._in:
            self._text += data


def test_report_of_the_micro_run_matches_its_manifests(micro_run, micro_recipe_path):
    workdir, keys = micro_run
    recipe = load_recipe(micro_recipe_path, [f"workdir={workdir}"])
    uri = write_report(recipe)
    assert uri == report_uri(str(workdir), "micro")
    page = open(uri, encoding="utf-8").read()
    assert not re.search(r"""(src|href)=["'](https?:|/)""", page), "the report must not load anything from outside"
    parsed = _Tables()
    parsed.feed(page)
    tables = dict(parsed.tables)

    stages = tables["Stages"]
    assert [row[0] for row in stages[1:]] == list(recipe.pipeline)  # pipeline order
    data_manifest = json.load(open(workdir / "data" / keys["data"] / "_MANIFEST.json"))
    data_row = next(r for r in stages if r[0] == "data")
    counts = data_manifest["counts"]
    assert [int(x.replace(",", "")) for x in data_row[3:7]] == [counts["in"], counts["kept"], counts["rejected"],
                                                               counts["quarantined"]]
    funnel = tables["Funnel per step"]
    assert [r[0] for r in funnel[1:]] == [s["step"] for s in data_manifest["metrics"]["funnel"]["steps"]]
    assert int(funnel[-1][1].replace(",", "")) == counts["kept"]
    eval_table = tables["eval"]  # the eval section's first table: one row per benchmark
    assert eval_table[1][0] == "humaneval" and "pass@1" in eval_table[1][4]
    assert any(src.startswith("data:image/png;base64,") for src in parsed.images)  # the loss curve, inline
    lineage = tables["Lineage"]
    assert any(r[0] == "pretrain" and f"tokens = tokenize/{keys['tokenize']}" in r[2] for r in lineage)
