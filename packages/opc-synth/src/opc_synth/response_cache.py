"""The teacher's response cache: SQLite keyed by hash(backend, model, prompt, sampling params).

Where it sits: between the ``synth`` stage and the generation backend (``opc_synth.teacher``). Every
answer is committed the moment it arrives, so a run that is killed keeps everything it received, and a
rerun (same key: the same output directory; or a new key that asks some of the same questions)
sends only the prompts not answered yet. The file lives under ``<workdir>/_synth_cache/`` (a
``_`` folder is not a stage output: ``opc status`` and ``opc gc`` ignore it); for an ``s3://``
workdir it is local, under ``$OPC_SYNTH_CACHE`` or ``~/.cache/opc/synth``.

What it does NOT do: expire entries (delete the file to forget), or share one file between machines.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

CACHE_DIR_NAME = "_synth_cache"


def request_key(backend: str, model: str, prompt: Any, params: dict[str, Any]) -> str:
    """The cache key: sha256 of the canonical JSON of (backend, model, prompt, sampling params)."""
    blob = json.dumps({"backend": backend, "model": model, "prompt": prompt, "params": params},
                      sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def cache_path(workdir: str) -> Path:
    if "://" in workdir and not workdir.startswith("file://"):
        base = Path(os.environ.get("OPC_SYNTH_CACHE") or Path.home() / ".cache" / "opc" / "synth")
        return base / hashlib.sha256(workdir.encode()).hexdigest()[:16] / "responses.sqlite"
    return Path(workdir.removeprefix("file://")) / CACHE_DIR_NAME / "responses.sqlite"


class ResponseCache:
    """A thread-safe key -> list of texts store; ``put`` commits at once."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, backend TEXT, model TEXT, "
                         "texts TEXT NOT NULL)")
        self._db.commit()

    def get(self, key: str) -> list[str] | None:
        with self._lock:
            row = self._db.execute("SELECT texts FROM responses WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, key: str, backend: str, model: str, texts: list[str]) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO responses (key, backend, model, texts) VALUES (?, ?, ?, ?)",
                             (key, backend, model, json.dumps(texts, ensure_ascii=False)))
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


class NoCache:
    """``teacher.cache: false``: every request goes to the backend."""

    def get(self, key: str) -> list[str] | None:
        return None

    def put(self, key: str, backend: str, model: str, texts: list[str]) -> None:
        pass

    def close(self) -> None:
        pass
