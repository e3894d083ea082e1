"""The stage's ``models/`` folder: one fastText model per iteration plus what they share.

    models/iter-1.bin ... iter-N.bin     fastText models, in iteration order (the last is the final one)
    models/tokenizer.json                the BPE the lines were made with (absent for plain words)
    models/classifier.json               threshold, features, iterations (read by ``load_iterations``)

``opc recall classify --model <output>/models`` does not read this layout: it reads a ``train`` model
directory (``model.bin``); ``export_final`` copies the final iteration into that layout.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from opc_core import storage
from opc_recall.classifier import Classifier, FeatureConfig


def save_iterations(models_uri: str, classifiers: list[Classifier], extra: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory(prefix="opc-recall-save-") as tmp:
        d = Path(tmp)
        for n, c in enumerate(classifiers, 1):
            c.model.save_model(str(d / f"iter-{n}.bin"))
        final = classifiers[-1]
        if final.pretok.tokenizer is not None:
            (d / "tokenizer.json").write_text(final.pretok.tokenizer.to_str(), encoding="utf-8")
        meta = {"threshold": final.threshold, "features": final.features.model_dump(mode="json"),
                "iterations": len(classifiers), **extra}
        (d / "classifier.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        storage.upload_dir(d, models_uri)


def load_iterations(models_uri: str) -> list[Classifier]:
    import fasttext

    from opc_recall.bpe import PreTokenizer, load_bpe

    fasttext.FastText.eprint = lambda *a, **k: None
    d = local_models_dir(models_uri)
    meta = json.loads((d / "classifier.json").read_text(encoding="utf-8"))
    features = FeatureConfig.model_validate(meta["features"])
    tok = load_bpe(d / "tokenizer.json") if (d / "tokenizer.json").exists() else None
    pretok = PreTokenizer(tok, features.max_chars)
    return [Classifier(fasttext.load_model(str(d / f"iter-{n}.bin")), pretok, features, float(meta["threshold"]))
            for n in range(1, int(meta["iterations"]) + 1)]


def local_models_dir(models_uri: str) -> Path:
    """A local copy of ``models/`` (itself when local)."""
    if not storage.is_remote(models_uri):
        return Path(models_uri)
    return storage.download_dir(models_uri, tempfile.mkdtemp(prefix="opc-recall-models-"))
