"""``report/funnel.html`` reads right: a header, the one-line ``in = kept + rejected + quarantined`` summary,
what each step removed, each rule's meaning and threshold, quarantine bytes, and "no hits" when the
decontamination found nothing. The page is parsed with an HTML parser, not grepped."""

from __future__ import annotations

from html.parser import HTMLParser

from opc_data.funnel_report import FunnelCounter, funnel_metrics, rule_meaning, rule_thresholds, write_report


class _Page(HTMLParser):
    """Text by element id, every table as rows of cell text, and every paragraph's text."""

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, dict] = {}
        self.tables: list[list[list[str]]] = []
        self.paragraphs: list[str] = []
        self._stack: list[tuple[str, dict]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self._stack.append((tag, a))
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th", "p"):
            self._cell = []

    def handle_endtag(self, tag):
        tag_, a = self._stack.pop()
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "p" and self._cell is not None:
            text = "".join(self._cell).strip()
            self.paragraphs.append(text)
            if "id" in a:
                self.by_id[a["id"]] = {"text": text, **a}
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _counter() -> FunnelCounter:
    c = FunnelCounter()
    for i in range(10):
        c.seen("python", 1000 + i)
    c.seen("c", 500)
    c.removed("quarantine", "undecodable", 1009)
    c.removed("dedup", "dedup:exact", 1001)
    c.removed("filter", "rules", 1002)
    c.count("rules", "qsc_code_num_lines")
    c.count("rules", "qsc_doc_frac_chars_alphabet")
    c.count("quarantine", "undecodable")
    for i in range(3, 9):
        c.kept("python", 1000 + i, 1000 + i)
    c.kept("c", 500, 500)
    c.removed("sampling", "sampling:python", 1000)  # 11 in = 7 kept + 3 rejected + 1 quarantined
    return c


def _render(tmp_path, decontamination=None) -> _Page:
    funnel = funnel_metrics(_counter())
    counts = {"in": 11, "kept": 7, "rejected": 3, "quarantined": 1}
    written = write_report(str(tmp_path), funnel, {"cluster_size_histogram": {"1": 9, "2": 1}},
                           decontamination or {"benchmarks": {"humaneval": {"items": 164, "items_hit": 0,
                                                                            "files_hit": 0}}, "hits": []},
                           counts=counts, header={"recipe": "micro", "data key": "abcd1234", "date": "2026-12-04"})
    page = _Page()
    page.feed((tmp_path / "report" / "funnel.html").read_text())
    assert any(w.endswith("funnel.html") for w in written)
    return page


def test_summary_line_and_header_say_recipe_key_and_the_counts(tmp_path):
    page = _render(tmp_path)
    s = page.by_id["summary"]
    assert s["text"] == "11 in = 7 kept + 3 rejected + 1 quarantined"
    assert (s["data-in"], s["data-kept"], s["data-rejected"], s["data-quarantined"]) == ("11", "7", "3", "1")
    header = next(p for p in page.paragraphs if "recipe" in p)
    assert "micro" in header and "abcd1234" in header and "2026-12-04" in header


def test_each_step_says_what_it_removed(tmp_path):
    steps = next(t for t in _render(tmp_path).tables if t[0][0] == "step")
    row = {r[0]: r for r in steps[1:]}
    assert row["dedup"][4] == "1" and "exact copies" in row["dedup"][6] and "dedup:exact 1" in row["dedup"][6]
    assert row["input"][2] == "11" and row["decontamination"][2] == "7"


def test_rule_hits_carry_meaning_threshold_and_the_several_rules_note(tmp_path):
    page = _render(tmp_path)
    rules = next(t for t in page.tables if t[0][0] == "rule")
    row = {r[0]: r for r in rules[1:]}
    assert row["qsc_doc_frac_chars_alphabet"][1] == "text: share of chars that are alphabet"
    assert "drop if < 0.5 (text-en" in row["qsc_doc_frac_chars_alphabet"][2]
    assert any("One file can trip several rules" in p for p in page.paragraphs)
    assert rule_meaning("qsc_codepython_frac_lines_pass") == "Python: share of lines that are pass"
    assert rule_thresholds()["qsc_code_num_lines"]


def test_quarantine_bytes_are_counted_and_empty_decontamination_says_no_hits(tmp_path):
    page = _render(tmp_path)
    assert "1 file, 1,009 bytes quarantined (kept aside with the error, in quarantined/)." in page.paragraphs
    assert any(p.startswith("no hits") for p in page.paragraphs)


def test_languages_table_has_names_left_and_numbers_right(tmp_path):
    _render(tmp_path)
    text = (tmp_path / "report" / "funnel.html").read_text()
    assert '<td class="txt">python</td>' in text and '<td class="num">10</td>' in text
