"""Incremental retraining: what a weekly retrain costs, against the named baseline of redoing everything.

Run on demand, never part of ``make test``:

    .venv/bin/python benchmarks/retrain_incremental.py [--recipe tests/recipes/micro.yaml] [--out /tmp/opc-retrain-bench]

A source folder of JSONL dumps (real Python files of installed distributions, one repository each): the first
dump holds ``--first`` distributions, the second (the week's new data) ``--second`` ones plus exact copies of
three files of the first. The recipe (default: the micro recipe, whole twelve-stage pipeline, with the tiny
recipe's ``schedule.retrain_stages``) reads that folder. Timed, as whole commands (start-up included):

* ours: ``opc retrain`` after the second dump arrived (version 2 on top of version 1: only the new dump is read
  and deduplicated against the old index, tokens appended, training continued, recall/algorithmic/synth carried
  over);
* baseline: what the retrain did before it was incremental: the whole pipeline over both dumps from scratch
  (``opc reproduce --engine local`` in a fresh workdir), the same recipe and machine, in the same run.

Reported: both wall times, the ratio baseline / ours, and what version 2 read (records in, copies removed).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
RETRAIN_STAGES = ["data", "tokenize", "pretrain", "eval_base", "anneal", "sft1", "sft2", "eval", "release"]


def _files(package: str) -> list[tuple[str, str]]:
    root = Path(sysconfig.get_paths()["purelib"])
    base = root / package
    files = sorted(base.rglob("*.py")) if base.is_dir() else [root / f"{package}.py"]
    return [(f"{package}/{p.relative_to(base).as_posix()}" if base.is_dir() else p.name, p.read_text("utf-8"))
            for p in files if p.stat().st_size > 1500]


def _dump(path: Path, records: list[dict]) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps({**r, "license": "mit"}) + "\n")


def _opc(*args: str) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "opc_core.cli", *args], env=env, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"opc {' '.join(args)} failed:\n{proc.stderr[-4000:]}")
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", default=str(REPO / "tests/recipes/micro.yaml"))
    parser.add_argument("--out", default="/tmp/opc-retrain-bench")
    parser.add_argument("--first", nargs="+", default=["requests", "six", "markupsafe", "click", "jinja2"])
    parser.add_argument("--second", nargs="+", default=["idna"])
    args = parser.parse_args()
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    (out / "raw").mkdir(parents=True)

    recipe = yaml.safe_load(Path(args.recipe).read_text())
    recipe["stages"]["data"]["ingest"] = {"sources": [{"kind": "uri", "uri": str(out / "raw")}]}
    recipe["stages"].setdefault("tokenize", {})["max_repeat"] = 100.0  # the folder has no README text for recall
    recipe["schedule"] = {"retrain_stages": [s for s in RETRAIN_STAGES if s in recipe["pipeline"]]}
    recipe_path = out / "recipe.yaml"
    recipe_path.write_text(yaml.safe_dump(recipe, sort_keys=False))

    first = [{"repo_name": f"acme/{p}", "path": f, "content": t} for p in args.first for f, t in _files(p)]
    _dump(out / "raw" / "dump-1.jsonl.gz", first)
    v1 = _opc("retrain", "--recipe", str(recipe_path), f"workdir={out / 'work'}")
    copies = [{"repo_name": "mirror/copies", "path": f"vendor/{r['path']}", "content": r["content"]}
              for r in first[:3]]
    second = [{"repo_name": f"acme/{p}", "path": f, "content": t} for p in args.second for f, t in _files(p)]
    _dump(out / "raw" / "dump-2.jsonl.gz", second + copies)

    ours = _opc("retrain", "--recipe", str(recipe_path), f"workdir={out / 'work'}")
    baseline = _opc("reproduce", "--engine", "local", "--recipe", str(recipe_path), f"workdir={out / 'full'}")

    versions = json.loads((out / "work" / "_versions" / f"{recipe['name']}.json").read_text())["versions"]
    data2 = json.loads((Path(versions[-1]["outputs"]["data"]["uri"]) / "_MANIFEST.json").read_text())
    result = {
        "records": {"dump_1": len(first), "dump_2": len(second) + len(copies)},
        "version_1_s": round(v1, 1),
        "ours_retrain_v2_s": round(ours, 1),
        "baseline_full_rerun_s": round(baseline, 1),
        "ratio_baseline_over_ours": round(baseline / ours, 2),
        "version_2_read": data2["counts"],
        "version_2_incremental": data2["metrics"]["incremental"],
        "load_average": os.getloadavg(),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
