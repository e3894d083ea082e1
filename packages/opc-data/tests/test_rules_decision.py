"""Keep/drop decisions: declarative thresholds, scope selection, random rules, re-deciding from columns."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

import opc_data.signals.general_code as general_code
from opc_data.filtering import (
    SIGNAL_COLUMNS,
    FilterConfig,
    RecordFilter,
    filter_record,
    filter_records,
    redecide,
)
from opc_data.rules import decide, hash_uniform, reference_thresholds, select_scope


def test_reference_table_has_450_rules_over_14_scopes():
    t = reference_thresholds()
    assert len(t) == 14
    assert sum(1 for rules in t.values() for r in rules.values() if r is not None) == 450
    assert sum(1 for rules in t.values() for r in rules.values() if r and r.random_fire_rate) == 8
    assert t["code-others"]["qsc_code_num_lines"].drop_if_any == (("<", 10), (">", 100000))


@pytest.mark.parametrize(
    ("doc_type", "lang", "nl", "scope"),
    [
        ("text", "markdown", "en", "text-en"),
        ("text", "markdown", "zh", "text-zh"),
        ("text", "markdown", "ja", "text-en"),
        ("code", "python", "en", "code-python"),
        ("code", "shell", "en", "code-shell"),
        ("data", "sql", "en", "code-sql"),
        ("data", "json", "en", "code-data"),
        ("code", "typescript", "en", "code-others"),
        ("unknown", "unknown", "en", None),
        ("excluded", "svg", "en", None),
    ],
)
def test_scope_selection_follows_the_reference(doc_type, lang, nl, scope):
    assert select_scope(doc_type, lang, nl) == scope


def test_missing_signals_are_skipped_and_null_values_never_fire():
    assert decide({}, "code-others") == (True, [])
    assert decide({"qsc_code_num_lines": None}, "code-others") == (True, [])
    assert decide({"qsc_code_num_lines": 3.0}, "code-others") == (False, ["qsc_code_num_lines"])
    assert decide({"qsc_code_cate_autogen": 1.0}, "code-others") == (False, ["qsc_code_cate_autogen"])
    assert decide({"qsc_code_num_lines": 3.0}, None) == (False, [])


def test_random_rules_are_deterministic_by_blob_id_and_fire_at_the_documented_rate():
    sig = {"qsc_codepython_score_lines_no_logic": 0.9}
    fired = [not decide(sig, "code-python", blob_id=f"{i:040x}")[0] for i in range(4000)]
    assert 0.77 < sum(fired) / len(fired) < 0.83
    assert fired == [not decide(sig, "code-python", blob_id=f"{i:040x}")[0] for i in range(4000)]
    assert all(
        not decide(sig, "code-python", blob_id=f"{i:040x}", random_mode="strict")[0] for i in range(200)
    )
    assert all(decide(sig, "code-python", blob_id=f"{i:040x}", random_mode="never")[0] for i in range(200))
    assert 0.0 <= hash_uniform("abc", "x") < 1.0


def test_corrected_var_zero_rule_is_an_option_and_reference_behaviour_is_default():
    sig = {"qsc_codego_cate_var_zero": 0.0, "qsc_codego_cate_var_zero_corrected": 1.0}
    assert decide(sig, "code-go")[0] is True
    assert decide(sig, "code-go", corrected=True) == (False, ["qsc_codego_cate_var_zero"])
    # corrected signal not provided: fall back to the reference signal
    assert decide({"qsc_codego_cate_var_zero": 0.0}, "code-go", corrected=True)[0] is True


def test_filter_config_is_strict_about_unknown_fields_scopes_and_operators():
    with pytest.raises(ValidationError):
        FilterConfig(nl_detect=True)
    with pytest.raises(ValidationError):
        FilterConfig(thresholds={"code-kotlin": {}})
    with pytest.raises(ValidationError):
        FilterConfig(thresholds={"code-others": {"qsc_code_num_lines": {"drop_if_any": [["<=", 3]]}}})
    cfg = FilterConfig(thresholds={"code-others": {"qsc_code_num_lines": {"drop_if_any": [["<", 2]]}}})
    assert cfg.resolved_thresholds()["code-others"]["qsc_code_num_lines"].drop_if_any == (("<", 2),)
    assert reference_thresholds()["code-others"]["qsc_code_num_lines"].drop_if_any == (
        ("<", 10),
        (">", 100000),
    )


WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota"]
RECORDS = [
    {"repo_name": "o/r", "path": "lib/a.rb", "blob_id": "1" * 40, "size": 60,
     "content": "".join(f"{w}_{i} = fetch(:{w}, {i * 7}) # the {w} setting\n" for i, w in enumerate(WORDS))},
    {"repo_name": "o/r", "path": "img.png", "blob_id": "2" * 40, "size": 9, "content": "\x89PNG\r\n\x1a\n\x00",
     "is_binary": True, "quarantine_reason": "binary"},
    {"repo_name": "o/r", "path": "bin/tool", "blob_id": "3" * 40, "size": 5, "content": "echo\n"},
    {"repo_name": "o/r", "path": "README.md", "blob_id": "4" * 40, "size": 20, "content": "# Title\n\nSome words.\n"},
]  # fmt: skip


def test_filter_records_gives_one_flat_row_per_record_with_quarantine_as_a_dropped_row():
    rows = list(filter_records(RECORDS, FilterConfig()))
    assert [r["path"] for r in rows] == [r["path"] for r in RECORDS]
    assert all(set(SIGNAL_COLUMNS) <= set(r) for r in rows)
    ruby, png, lic, readme = rows
    assert (ruby["program_lang"], ruby["doc_type"], ruby["scope"]) == ("ruby", "code", "code-others")
    assert ruby["keep"] is False and ruby["rules_fired"] == ["qsc_code_num_lines"]  # 9 lines < 10
    assert png["keep"] is False and png["reject_reason"] == "quarantined: binary" and png["rules_fired"] == []
    assert png["qsc_code_num_chars"] is None
    assert lic["keep"] is False and lic["reject_reason"].startswith("doc_type:")
    assert readme["scope"] == "text-en" and readme["qsc_doc_num_lines"] == 3.0


def test_record_filter_resolves_thresholds_once_and_gives_the_same_rows_as_filter_records(monkeypatch):
    looser = FilterConfig(thresholds={"code-others": {"qsc_code_num_lines": {"drop_if_any": [["<", 5]]}}})
    want = list(filter_records(RECORDS, looser))
    rule_filter = RecordFilter(looser)

    def no_resolve(self):  # per-record threshold parsing is what the per-config object avoids
        raise AssertionError("thresholds resolved again")

    monkeypatch.setattr(FilterConfig, "resolved_thresholds", no_resolve)
    got = [rule_filter.filter_record(r) for r in RECORDS * 3]
    assert got == want * 3
    assert got[0]["keep"] is True  # the override applies: the 9-line Ruby file passes "< 5"
    assert rule_filter.decide_row(want[0]) == (True, [], None)
    with pytest.raises(AssertionError, match="resolved again"):  # the one-off helper builds a filter per call
        filter_record(RECORDS[0], looser)


def test_changed_thresholds_redecide_from_stored_columns_without_recomputing(monkeypatch):
    rows = list(filter_records(RECORDS, FilterConfig()))
    assert rows[0]["keep"] is False

    def no_recompute(doc):  # any signal computation on the re-decide path is a cache miss
        raise AssertionError("signals recomputed")

    monkeypatch.setattr(general_code, "compute", no_recompute)
    looser = FilterConfig(thresholds={"code-others": {"qsc_code_num_lines": {"drop_if_any": [["<", 5]]}}})
    again = list(redecide(rows, looser))
    assert again[0]["keep"] is True and again[0]["rules_fired"] == [] and again[0]["reject_reason"] is None
    assert again[0]["qsc_code_num_lines"] == rows[0]["qsc_code_num_lines"]
    assert again[1]["keep"] is False and again[1]["reject_reason"] == "quarantined: binary"
    back = list(redecide(again, FilterConfig()))
    assert [(r["keep"], r["rules_fired"]) for r in back] == [(r["keep"], r["rules_fired"]) for r in rows]


def test_natural_language_detection_is_off_by_default_and_routes_chinese_text_to_text_zh():
    readme = {"repo_name": "o/r", "path": "README_ZH.md", "blob_id": "5" * 40, "size": 300,
              "content": "# 使用说明\n\n这个库用于解析配置文件，并且支持多种格式。安装以后直接导入即可使用。\n" * 5}  # fmt: skip
    off = next(filter_records([readme]))
    on = next(filter_records([readme], FilterConfig(nl_detection=True)))
    assert (off["lang"], off["scope"]) == ("en", "text-en")
    assert (on["lang"], on["scope"]) == ("zh", "text-zh")
    assert on["qsc_doc_frac_chars_alphabet"] is None and off["qsc_doc_frac_chars_alphabet"] is not None


def test_corrected_go_var_zero_is_stored_as_a_column_and_used_only_when_asked():
    body = "".join(
        f"func F{i}(a int) int {{\n\tif a > {i} {{\n\t\treturn a * {i}\n\t}}\n\treturn a - {i}\n}}\n\n"
        for i in range(6)
    )
    rec = {"repo_name": "o/r", "path": "pkg/calc.go", "blob_id": "6" * 40, "size": len(body),
           "content": "package calc\n\n" + body}  # fmt: skip
    row = next(filter_records([rec]))
    assert row["qsc_codego_cate_var_zero"] == 0.0  # the reference's bug: never fires
    assert row["qsc_codego_cate_var_zero_corrected"] == 1.0  # no var / const / := anywhere
    fixed = next(redecide([row], FilterConfig(corrected_rules=True)))
    assert "qsc_codego_cate_var_zero" in fixed["rules_fired"] and fixed["keep"] is False
    assert "qsc_codego_cate_var_zero" not in row["rules_fired"]


def test_rows_round_trip_through_parquet_and_redecide_from_the_stored_columns(tmp_path):
    import pyarrow.parquet as pq

    from opc_data.filtering import FILTER_SCHEMA, rows_to_table

    rows = list(filter_records(RECORDS, FilterConfig()))
    pq.write_table(rows_to_table(rows), tmp_path / "part-0.parquet")
    stored = pq.read_table(tmp_path / "part-0.parquet")
    assert stored.schema.equals(FILTER_SCHEMA)
    again = list(redecide(stored.to_pylist(), FilterConfig()))
    assert [(r["keep"], r["rules_fired"], r["reject_reason"]) for r in again] == [
        (r["keep"], r["rules_fired"], r["reject_reason"]) for r in rows
    ]


def test_records_without_language_or_blob_id_are_identified_and_keyed_by_content():
    from opc_data.records import git_blob_id
    from opc_data.signals import compute_signals

    content = "def f(x):\n    return x\n"
    signals = compute_signals({"path": "pkg/mod.py", "content": content})
    assert "qsc_codepython_cate_ast" in signals and "qsc_code_num_lines" in signals
    row = next(filter_records([{"repo_name": "o/r", "path": "pkg/mod.py", "content": content}]))
    assert row["blob_id"] == git_blob_id(content.encode())
    assert row["program_lang"] == "python" and row["scope"] == "code-python"
