"""`opc status --json`, `opc lineage` and `opc gc` on a real workdir."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from opc_core import storage
from opc_core.garbage_collect import collect_garbage
from opc_core.lineage import find_output, format_lineage
from opc_core.runner import run_pipeline


def _opc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "opc_core.cli", *args], capture_output=True, text=True)


def test_status_json_is_a_clean_list_on_stdout(toy_recipe):
    recipe = toy_recipe()
    words, totals = run_pipeline(recipe)
    proc = _opc("status", "--json", "--workdir", recipe.workdir)
    assert proc.returncode == 0, proc.stderr
    entries = json.loads(proc.stdout)
    by_stage = {e["stage"]: e for e in entries}
    assert set(by_stage) == {"words", "totals"}
    for e in entries:
        assert set(e) == {"stage", "key", "uri", "complete", "created"}
        assert e["complete"] is True and e["uri"].startswith("/")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", e["created"])
    assert by_stage["totals"]["key"] == totals.key


def test_lineage_walks_back_to_raw_sources(toy_recipe):
    recipe = toy_recipe()
    words, totals = run_pipeline(recipe)
    text = format_lineage(find_output("totals", recipe.workdir))
    assert f"totals {totals.key}" in text and f"words {words.key}" in text
    assert "raw source" in text and recipe.stage_config("words").source in text
    assert find_output(totals.manifest.uri, recipe.workdir).key == totals.key
    proc = _opc("lineage", words.key[:8], "--workdir", recipe.workdir)
    assert proc.returncode == 0 and f"words {words.key}" in proc.stdout


def test_gc_removes_only_unreferenced_outputs(toy_recipe):
    old = toy_recipe()
    old_words, old_totals = run_pipeline(old)
    new_words, new_totals = run_pipeline(toy_recipe("words.min_words=2"))
    garbage = collect_garbage(old.workdir)
    assert {(g.stage, g.key) for g in garbage} == {("words", old_words.key), ("totals", old_totals.key)}
    assert storage.exists(old_words.manifest.uri)  # dry run by default
    collect_garbage(old.workdir, delete=True)
    assert not storage.exists(old_words.manifest.uri)
    assert storage.exists(new_words.manifest.path()) and storage.exists(new_totals.manifest.path())
