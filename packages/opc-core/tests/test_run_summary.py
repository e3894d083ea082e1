"""The terminal summary of ``reproduce``: paths never split across table cells, "cached?" is yes/no, a cache
hit shows the time it took when it ran, and each stage's counts say what they mean on that stage."""

from __future__ import annotations

from rich.console import Console

from opc_core.manifest import Counts, Manifest
from opc_core.run_summary import print_summary
from opc_core.runner import StageOutcome


def _outcome(tmp_path, stage, key, cached, seconds, counts=None, metrics=None, summary="", artifact=None,
             files=()):
    uri = tmp_path / "a-rather-long-workdir-name-so-paths-are-wide" / stage / key
    uri.mkdir(parents=True)
    for f in files:
        (uri / f).parent.mkdir(parents=True, exist_ok=True)
        (uri / f).write_text("x")
    m = Manifest(stage=stage, key=key, uri=str(uri), artifact_uri=str(uri / artifact) if artifact else None,
                 fingerprint="f" * 32, code_version="t", created="2026-12-04T00:00:00Z",
                 counts=Counts.model_validate(counts) if counts else None, metrics=metrics or {},
                 timings={"wall_s": 148.1}, summary=summary.replace("{uri}", str(uri)))
    return StageOutcome(stage=stage, key=key, cached=cached, manifest=m, seconds=seconds)


def _render(tmp_path, width):
    outcomes = [
        _outcome(tmp_path, "data", "552dcd831c8edc98", False, 23.1,
                 {"in": 30, "kept": 18, "rejected": 12, "quarantined": 0}, files=["report/funnel.html"]),
        _outcome(tmp_path, "tokenize", "5a980e2cb1c4144a", False, 0.8,
                 {"in": 18, "kept": 15, "rejected": 3, "quarantined": 0}),
        _outcome(tmp_path, "pretrain", "f10691a48d245ad9", True, 0.01, files=["loss.png"]),
        _outcome(tmp_path, "eval", "91787256709a435d", False, 9.0, {"in": 4, "kept": 4, "rejected": 0},
                 {"humaneval": {"pass@1": 0.25, "n_tasks": 4, "n_samples": 4}}, files=["pass_at_k.png"]),
        _outcome(tmp_path, "release", "cdd3c24669a7ebf2", False, 15.0, summary="released opc-micro at {uri}/model; verify passed",
                 artifact="model", files=["model/README.md"]),
    ]
    console = Console(width=width, record=True, force_terminal=False)
    print_summary(outcomes, console=console, run_report=str(tmp_path / "_runs" / "micro" / "report.html"))
    return console.export_text(), outcomes


def test_paths_are_listed_once_under_the_table_and_never_split(tmp_path):
    for width in (100, 160):
        text, outcomes = _render(tmp_path / str(width), width)
        table, below = text.split("Outputs and reports:")
        assert str(tmp_path) not in table  # no path inside a cell (the release highlight is shortened)
        assert "released opc-micro; verify" in table and " at " not in table
        lines = below.splitlines()
        for o in outcomes:
            out = o.manifest.artifact_uri or o.manifest.uri
            assert sum(line.endswith(out) for line in lines) == 1
        for report in ("report/funnel.html", "loss.png", "pass_at_k.png", "model/README.md", "report.html"):
            assert sum(line.endswith(report) for line in lines) == 1, report


def test_cached_is_yes_or_no_and_a_hit_shows_its_original_time(tmp_path):
    text, _ = _render(tmp_path, 160)
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:]] for line in text.splitlines()
            if line.startswith("│") and line.split("│")[1].strip()}
    assert rows["pretrain"][:2] == ["yes", "2m 28s earlier"]
    assert rows["data"][:2] == ["no", "23.1s"]
    assert "yes (cache hit)" not in text and "no (ran)" not in text


def test_counts_are_labelled_for_what_they_mean_on_each_stage(tmp_path):
    text, _ = _render(tmp_path, 160)
    assert "30 in = 18 kept + 12 rejected + 0 quarantined" in text
    assert "18 docs in, 15 used, 3 left out by mixture subsampling" in text
    assert "4 samples: 1 passed, 3 failed" in text
