"""SFT conversations built from the kept code (``from_code``) read the whole corpus of an incremental data output:
a retrain's data output holds only the new files, and its ``previous`` chain the earlier versions' (a weekly
dump of a few files must not shrink the SFT set to those files)."""

from __future__ import annotations

import logging
from pathlib import Path

import pyarrow as pa

from opc_core import dataset
from opc_core.manifest import InputRef, Manifest, write_manifest
from opc_core.stage import StageContext
from opc_train.sft_stage import SFTConfig, _collect

FUNCTION = '''def {name}(values):
    """Return the {name} of the values, ignoring None entries."""
    kept = [v for v in values if v is not None]
    if not kept:
        return None
    return sorted(kept)[len(kept) // 2]
'''


def _data_output(root: Path, key: str, repo: str, names: list[str], previous: Manifest | None) -> Manifest:
    uri = str(root / "data" / key)
    rows = [{"repo_name": repo, "path": f"{n}.py", "content": FUNCTION.format(name=n), "program_lang": "python"}
            for n in names]
    dataset.write_table(f"{uri}/kept/part-00000.parquet", pa.Table.from_pylist(rows))
    inputs = {"previous": InputRef(stage="data", key=previous.key, uri=previous.uri, fingerprint=previous.fingerprint)
              } if previous else {}
    m = Manifest(stage="data", key=key, uri=uri, fingerprint=key * 2, code_version="x", created="2026-12-04T00:00:00Z",
                 inputs=inputs)
    write_manifest(m)
    return m


def test_code_conversations_come_from_every_version_of_the_data(tmp_path):
    v1 = _data_output(tmp_path, "v1", "acme/old", ["median", "middle", "centre"], None)
    v2 = _data_output(tmp_path, "v2", "acme/new", ["midpoint"], v1)
    config = SFTConfig(from_code={"tasks": ["implement", "explain"]})
    ctx = StageContext(stage="sft1", key="k", output_uri=str(tmp_path / "out"), workdir=str(tmp_path), seed=0,
                       recipe_name="t", recipe={}, inputs={"code": v2}, scratch=tmp_path, log=logging.getLogger("t"))
    sources = [conv.source for _, conv in _collect(config, ctx, [])]
    assert sorted(sources) == ["acme/new/midpoint.py", "acme/old/centre.py", "acme/old/median.py",
                               "acme/old/middle.py"]
