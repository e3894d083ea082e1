"""``pass_at_k.png`` says how samples failed, read from ``results.jsonl``'s outcome strings."""

from __future__ import annotations

from opc_eval.plot import outcome_counts, outcome_kind, plot_pass_at_k


def test_each_outcome_string_maps_to_one_failure_kind():
    assert outcome_kind("passed") == "passed"
    assert outcome_kind("timed out") == "timeout"
    assert outcome_kind("failed: SyntaxError: invalid syntax (line 3)") == "syntax error"
    assert outcome_kind("failed: IndentationError: unexpected indent") == "syntax error"
    assert outcome_kind("failed: AssertionError: ") == "wrong answer"
    assert outcome_kind("failed: ") == "wrong answer"
    assert outcome_kind("failed: NameError: name 'x' is not defined") == "runtime error"
    assert outcome_kind("skipped: no completion") == "skipped"


def test_plot_counts_outcomes_per_benchmark_and_writes_a_png(tmp_path):
    rows = [{"benchmark": "humaneval", "result": r} for r in ("passed", "timed out", "failed: AssertionError: ")]
    rows.append({"benchmark": "mbpp", "result": "failed: SyntaxError: x"})
    counts = outcome_counts(rows)
    assert dict(counts["humaneval"]) == {"passed": 1, "timeout": 1, "wrong answer": 1}
    assert dict(counts["mbpp"]) == {"syntax error": 1}
    summaries = {"humaneval": {"pass@1": 1 / 3, "n_tasks": 3, "n_samples": 3}, "mbpp": {"pass@1": 0.0, "n_tasks": 1,
                                                                                       "n_samples": 1}}
    plot_pass_at_k(summaries, tmp_path / "p.png", title="t", results=rows)
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
