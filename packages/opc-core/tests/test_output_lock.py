"""One writer per output: a second writer of the same stage output stops at once naming the owner; a
stale lock (its owner died) is taken over; the lock never becomes part of the output."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from opc_core import storage
from opc_core.output_lock import OutputBusyError, OutputLock, lock_uri
from opc_core.registry import get_stage, register_stage
from opc_core.runner import plan_stage, run_pipeline, run_stage
from opc_core.stage import StageResult, StageSpec


def test_second_writer_of_the_same_output_stops_naming_the_owner(toy_recipe):
    recipe = toy_recipe()
    run_stage(recipe, "words")
    plan = plan_stage(recipe, "totals")
    with OutputLock(plan.output_uri):
        with pytest.raises(OutputBusyError) as err:
            run_stage(recipe, "totals")
    text = str(err.value)
    assert f"pid {os.getpid()} on host {socket.gethostname()}" in text and plan.output_uri in text
    assert not storage.exists(plan.output_uri + "/_MANIFEST.json")
    assert run_stage(recipe, "totals").cached is False  # released: the next writer goes ahead


def test_forced_rerun_does_not_delete_an_output_someone_else_is_writing(toy_recipe):
    recipe = toy_recipe()
    words, _ = run_pipeline(recipe)
    with OutputLock(words.manifest.uri), pytest.raises(OutputBusyError):
        run_stage(recipe, "words", force=True)
    assert storage.exists(words.manifest.path())


def test_nested_run_of_a_stage_being_written_is_refused(toy_recipe):
    """Two writers in one process (e.g. two flow tasks) are refused too: flock is per open file."""
    recipe = toy_recipe()
    run_stage(recipe, "words")
    spec = get_stage("totals")
    seen: list[str] = []

    def reentrant(config, ctx) -> StageResult:
        with pytest.raises(OutputBusyError) as err:
            run_stage(recipe, "totals")
        seen.append(str(err.value))
        return spec.run(config, ctx)

    register_stage(StageSpec("totals", spec.config_model, reentrant, inputs=spec.inputs, volatile=spec.volatile,
                             code_modules=spec.code_modules))
    try:
        run_stage(recipe, "totals")
    finally:
        register_stage(spec)
    assert seen and f"pid {os.getpid()}" in seen[0]


def test_stale_lock_of_a_dead_process_is_taken_over_and_removed(toy_recipe):
    recipe = toy_recipe()
    run_stage(recipe, "words")
    plan = plan_stage(recipe, "totals")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    path = lock_uri(plan.output_uri)
    storage.makedirs(os.path.dirname(path))
    with open(path, "w") as f:
        json.dump({"pid": int(dead.stdout), "host": socket.gethostname(), "since": "then", "command": "opc run"}, f)
    outcome = run_stage(recipe, "totals")
    assert outcome.cached is False and not os.path.exists(path)
    assert not any(".lock" in f for f in storage.list_files(plan.output_uri))


def test_s3_output_lock_names_the_owner_and_takes_over_a_dead_local_owner(s3_bucket):
    out = f"{s3_bucket}/work/pretrain/abc123"
    with OutputLock(out), pytest.raises(OutputBusyError, match=f"pid {os.getpid()}"):
        OutputLock(out).acquire()
    assert not storage.exists(lock_uri(out))
    storage.write_json_atomic(lock_uri(out), {"pid": 2**22 + 7, "host": socket.gethostname()})
    with OutputLock(out) as lock:
        assert lock.previous_owner["pid"] == 2**22 + 7
    storage.write_json_atomic(lock_uri(out), {"pid": 1, "host": "another-host"})
    with pytest.raises(OutputBusyError, match="another-host"):
        OutputLock(out).acquire()
