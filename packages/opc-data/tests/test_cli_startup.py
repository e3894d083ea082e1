"""What ``opc data filter`` loads and spawns: its start-up is part of its throughput (benchmarks/data_throughput.py)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

_RECORDS = [
    {"blob_id": None, "repo_name": "o/r", "path": "src/a.py", "content": "import os\n\n\ndef f(x):\n    return x + 1\n",
     "size": 37, "is_binary": False},
    {"blob_id": None, "repo_name": "o/r", "path": "ci.yaml", "content": "# ci\non: [push]\njobs: {}\n", "size": 25,
     "is_binary": False},
    {"blob_id": None, "repo_name": "o/r", "path": "logo.png", "content": "", "size": 0, "is_binary": True},
]

_IN_PROCESS = """
import json, sys
from opc_core.cli import main
src, out = sys.argv[1], sys.argv[2]
sys.argv = ["opc", "data", "filter", src, out]
try:
    main()
except SystemExit as exc:
    assert not exc.code, exc.code
loaded = "pandas" in sys.modules
import pyarrow.parquet as pq, glob
table = pq.read_table(glob.glob(out + "/part-*.parquet")[0])
frame = table.to_pandas()  # pandas still works when a later step asks for it
print(json.dumps({"pandas_loaded_by_filter": loaded, "rows": len(frame)}))
"""


def _write_input(tmp_path: Path) -> Path:
    src = tmp_path / "in.jsonl.gz"
    with gzip.open(src, "wt", encoding="utf-8") as fh:
        for r in _RECORDS:
            fh.write(json.dumps(r) + "\n")
    return src


def test_filter_command_does_not_import_pandas_and_writes_the_same_rows(tmp_path):
    src = _write_input(tmp_path)
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-c", _IN_PROCESS, str(src), str(out)], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONWARNINGS": "error::UserWarning"})
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"pandas_loaded_by_filter": False, "rows": 3}

    from opc_data.filtering import FILTER_SCHEMA, filter_records
    from opc_data.ingest import IngestConfig, read_records

    # the rows pa.Table.from_pylist makes of the same records (pandas imported here, in the test process)
    rows = filter_records(read_records(None, IngestConfig(sources=[str(src)])))
    expected = pa.Table.from_pylist([{k: row.get(k) for k in FILTER_SCHEMA.names} for row in rows], schema=FILTER_SCHEMA)
    written = pq.read_table(next(out.glob("part-*.parquet")))
    assert written.equals(expected)


def test_filter_command_pinned_to_one_core_filters_in_its_own_process(tmp_path):
    """Default workers = the cores the process may use: pinned to one, no pool is spawned."""
    src = _write_input(tmp_path)
    opc = Path(sys.executable).with_name("opc")
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import concurrent.futures, sys, runpy\n"
        "class NoPool:\n"
        "    def __init__(self, *a, **k):\n"
        "        raise SystemExit('a process pool was started')\n"
        "concurrent.futures.ProcessPoolExecutor = NoPool\n"
        f"sys.argv = [{str(opc)!r}, 'data', 'filter', {str(src)!r}, {str(tmp_path / 'out')!r}]\n"
        f"runpy.run_path({str(opc)!r}, run_name='__main__')\n"
    )
    done = subprocess.run([sys.executable, str(probe)], capture_output=True, text=True, timeout=300,
                          preexec_fn=lambda: os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}))
    assert done.returncode == 0, done.stderr
    assert "records in 3" in done.stderr
