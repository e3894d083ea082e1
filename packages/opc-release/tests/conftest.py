"""Real upstream outputs for release tests: data (attribution + funnel), tokenize (real stage run), a small
pretrained-format checkpoint, eval metrics; each with a real ``_MANIFEST.json`` linked into a lineage chain.

The checkpoint is a small randomly initialised ``opc_train.model.Transformer`` saved with
``opc_train.checkpoint.save_final`` (the pretrain output format); training it would add minutes and
test nothing the release depends on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib.metadata import distribution
from pathlib import Path

import pyarrow as pa
import pytest

from opc_core import dataset, storage
from opc_core.content_key import output_fingerprint
from opc_core.manifest import Counts, InputRef, Manifest, read_manifest, write_manifest
from opc_core.stage import StageContext

RECIPE = {"name": "tiny", "version": "0.1.0", "seed": 1234, "description": "release test recipe",
          "pipeline": ["data", "tokenize", "pretrain", "eval", "release"]}
EVAL_METRICS = {
    "humaneval": {"pass@1": 0.0121951, "pass@10": 0.0487805, "n_tasks": 164, "n_samples": 1640, "mode": "completion"},
    "mbpp": {"pass@1": 0.0246, "n_tasks": 378, "n_samples": 378, "mode": "completion"},
}
FUNNEL = {  # the data stage's metrics.funnel shape (opc_data.funnel_report.funnel_metrics)
    "steps": [
        {"step": "input", "files": 230, "bytes": 2_400_000, "removed_files": 0, "removed_bytes": 0},
        {"step": "dedup", "files": 221, "bytes": 2_300_000, "removed_files": 9, "removed_bytes": 100_000},
        {"step": "filter", "files": 180, "bytes": 1_900_000, "removed_files": 41, "removed_bytes": 400_000},
    ],
    "kept": {"files": 180, "bytes": 1_900_000, "content_bytes": 1_890_000},
    "languages": {"Python": {"in_files": 200, "in_bytes": 2_000_000, "kept_files": 161, "kept_bytes": 1_700_000},
                  "Markdown": {"in_files": 30, "in_bytes": 400_000, "kept_files": 19, "kept_bytes": 200_000}},
    "reasons": {"exact_dup": 9, "max_line_length": 30, "alpha_fraction": 11},
}
DATA_CONFIG = {"dedup": {"exact": True, "fuzzy": {"num_perm": 2048, "bands": 16, "rows": 128, "ngram": 5}},
               "filters": {"families": ["natural_language", "general_code", "language_specific"]}}


def _kept_rows() -> list[dict]:
    rows = []
    for name in ("typer", "click", "PyYAML", "shellingham", "mdurl"):
        dist = distribution(name)
        for f in sorted(dist.files or [], key=str):
            p = Path(str(dist.locate_file(f)))
            if p.suffix == ".py" and p.stat().st_size < 60_000:
                rows.append({"repo_name": f"pypi/{name}", "path": str(f), "content": p.read_text(errors="replace"),
                             "program_lang": "Python", "doc_type": "code", "license": "MIT"})
            elif p.name == "METADATA":
                rows.append({"repo_name": f"pypi/{name}", "path": str(f), "content": p.read_text(errors="replace"),
                             "program_lang": "Markdown", "doc_type": "text", "license": "MIT"})
    return rows


# the named artifacts the real stages declare (StageResult.artifacts)
ARTIFACTS = {"tokenize": {"tokenizer": "tokenizer", "train": "train", "val": "val"},
             "pretrain": {"final": "final", "checkpoints": "checkpoints"}, "release": {"model": "model"}}


def _manifest(stage: str, key: str, uri: str, inputs: dict[str, Manifest], **extra) -> Manifest:
    extra.setdefault("artifacts", ARTIFACTS.get(stage, {}))
    m = Manifest(stage=stage, key=key, uri=uri, fingerprint=output_fingerprint(uri)[0], code_version="test",
                 created="2026-11-27T00:00:00Z", recipe=RECIPE,
                 inputs={r: InputRef(stage=i.stage, key=i.key, uri=i.uri, fingerprint=i.fingerprint)
                         for r, i in inputs.items()}, **extra)
    write_manifest(m)
    return m


@dataclass
class Upstream:
    workdir: Path
    data: Manifest
    tokens: Manifest
    model: Manifest
    eval: Manifest

    def inputs(self) -> dict[str, Manifest]:
        return {"model": read_manifest(self.model.uri), "tokens": read_manifest(self.tokens.uri),
                "data": read_manifest(self.data.uri), "eval": read_manifest(self.eval.uri)}

    def ctx(self, key: str = "feedc0de12345678", recipe: dict | None = None) -> StageContext:
        out = self.workdir / "release" / key
        storage.remove(str(out))
        out.mkdir(parents=True)
        scratch = self.workdir / "_scratch" / key
        scratch.mkdir(parents=True, exist_ok=True)
        return StageContext(stage="release", key=key, output_uri=str(out), workdir=str(self.workdir), seed=1234,
                            recipe_name="tiny", recipe=recipe or RECIPE, inputs=self.inputs(), scratch=scratch,
                            log=logging.getLogger("opc.release"))


@pytest.fixture(scope="session")
def upstream(tmp_path_factory) -> Upstream:
    import torch

    from opc_train.checkpoint import save_final
    from opc_train.model import ModelConfig, Transformer
    from opc_train.pretrain_stage import PretrainConfig
    from opc_train.tokenize_stage import STAGE as TOKENIZE
    from opc_train.tokenize_stage import TokenizeConfig

    wd = tmp_path_factory.mktemp("work")
    # data
    data_uri = str(wd / "data" / "d0d0d0d0d0d0d0d0")
    rows = _kept_rows()
    schema = pa.schema([(k, pa.string()) for k in rows[0]])
    with dataset.ShardWriter(storage.join(data_uri, "kept"), schema) as w:
        w.write_many(rows)
    storage.write_json_atomic(storage.join(data_uri, "attribution.json"), {
        "files": len(rows), "repositories": [{"repo_name": "pypi/typer", "license": "MIT"}],
        "licenses": {"MIT": {"files": len(rows), "repositories": 5}}})
    data = _manifest("data", "d0d0d0d0d0d0d0d0", data_uri, {}, sources=["embedded:typer,click,PyYAML"],
                     counts=Counts.model_validate({"in": 230, "kept": 180, "rejected": 48, "quarantined": 2}),
                     metrics={"funnel": FUNNEL}, config=DATA_CONFIG)
    # tokenize: the real stage
    tok_uri = wd / "tokenize" / "7070707070707070"
    tok_uri.mkdir(parents=True)
    (wd / "scratch-tok").mkdir()
    ctx = StageContext(stage="tokenize", key="7070707070707070", output_uri=str(tok_uri), workdir=str(wd), seed=1,
                       recipe_name="tiny", recipe=RECIPE, inputs={"data": data}, scratch=wd / "scratch-tok",
                       log=logging.getLogger("opc.tokenize"))
    cfg = TokenizeConfig(vocab_size=512, val_fraction=0.2)
    result = TOKENIZE.run(cfg, ctx)
    tokens = _manifest("tokenize", "7070707070707070", str(tok_uri), {"data": data}, counts=result.counts,
                       metrics=result.metrics, config=cfg.model_dump(mode="json"))
    # pretrain-format checkpoint
    model_uri = wd / "pretrain" / "9a9a9a9a9a9a9a9a"
    config = ModelConfig(vocab_size=512, dim=64, n_layers=2, n_heads=4, n_kv_heads=2, ffn_dim=160, max_seq_len=128)
    torch.manual_seed(0)
    save_final(model_uri, Transformer(config).state_dict(), config)
    pretrain_cfg = PretrainConfig(max_steps=40, lr=3e-3, warmup_steps=4, decay_fraction=0.2, seq_len=128,
                                  micro_batch_size=8, grad_accum_steps=2, weight_decay=0.05, grad_clip=0.5,
                                  device="cpu", beta2=0.98)
    model = _manifest("pretrain", "9a9a9a9a9a9a9a9a", str(model_uri), {"tokens": tokens},
                      config=pretrain_cfg.model_dump(mode="json"),
                      metrics={"steps": 40, "tokens_seen": 81920, "final_val_loss": 4.4321, "unigram_val_loss": 5.1234})
    # eval
    eval_uri = wd / "eval" / "e1e1e1e1e1e1e1e1"
    eval_uri.mkdir(parents=True)
    storage.write_json_atomic(str(eval_uri / "summary.json"), EVAL_METRICS)
    ev = _manifest("eval", "e1e1e1e1e1e1e1e1", str(eval_uri), {"model": model, "tokens": tokens}, metrics=EVAL_METRICS,
                   config={"mode": "completion", "temperature": 0.8, "top_p": 0.95, "n_samples": 10})
    return Upstream(wd, data, tokens, model, ev)


@pytest.fixture(scope="session")
def released(upstream):
    """One release built by the real stage (verify included); (ctx, result, model_dir)."""
    from opc_release.stage import STAGE, ReleaseConfig

    ctx = upstream.ctx()
    result = STAGE.run(ReleaseConfig(), ctx)
    return ctx, result, Path(ctx.output_uri) / "model"
