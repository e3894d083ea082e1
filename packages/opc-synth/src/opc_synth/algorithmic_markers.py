"""The algorithmic-corpus selector: keyword markers (data, in ``algorithmic_markers.yaml``) -> keep or not.

Where it sits: the ``algorithmic`` stage calls ``MarkerSet.match`` on every kept file of the data stage.
The markers and the decision rule (one strong marker, or ``min_weak`` different weak ones in a file of at
most ``weak_max_chars`` characters) live in the
YAML file beside this module, each with a one-line reason; a recipe may point at another file.
Precision and recall are measured on a hand-labelled fixture in the tests.

What it does NOT do: judge quality or correctness of a solution (the paper's algorithmic corpus is
selected, not executed), or look at languages other than through the regular expressions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from opc_core.errors import OpcError

DEFAULT_MARKERS = Path(__file__).with_name("algorithmic_markers.yaml")


@dataclass(frozen=True)
class Marker:
    name: str
    patterns: tuple[re.Pattern[str], ...]  # all must match
    strong: bool
    why: str

    def matches(self, text: str) -> bool:
        return all(p.search(text) for p in self.patterns)


@dataclass(frozen=True)
class MarkerSet:
    markers: tuple[Marker, ...]
    min_weak: int
    weak_max_chars: int | None = None

    def matched(self, text: str) -> list[str]:
        """Names of every marker found in ``text`` (in file order)."""
        return [m.name for m in self.markers if m.matches(text)]

    def decide(self, names: list[str], length: int = 0) -> bool:
        strong = {m.name for m in self.markers if m.strong}
        if any(n in strong for n in names):
            return True
        if self.weak_max_chars is not None and length > self.weak_max_chars:
            return False
        return len(set(names) - strong) >= self.min_weak

    def match(self, text: str) -> tuple[bool, list[str]]:
        """(selected, matched marker names)."""
        text = text or ""
        names = self.matched(text)
        return self.decide(names, len(text)), names


@lru_cache(maxsize=8)
def load_markers(path: str | None = None) -> MarkerSet:
    """Parse and compile a marker file (default: the package's); errors name the marker."""
    where = str(path or DEFAULT_MARKERS)
    try:
        data = yaml.safe_load(Path(where).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise OpcError(f"cannot read the marker file: {e}", where=where) from e
    markers = []
    for i, m in enumerate(data.get("markers") or []):
        name = m.get("name") or f"#{i}"
        raw = m.get("all") or ([m["pattern"]] if m.get("pattern") else [])
        if not raw or m.get("strength") not in ("strong", "weak"):
            raise OpcError(f"marker {name!r} needs a pattern (or all: [...]) and strength strong|weak", where=where)
        try:
            pats = tuple(re.compile(p, re.MULTILINE) for p in raw)
        except re.error as e:
            raise OpcError(f"marker {name!r}: bad regular expression: {e}", where=where) from e
        markers.append(Marker(name, pats, m["strength"] == "strong", m.get("why", "")))
    if not markers:
        raise OpcError("the marker file lists no markers", where=where)
    limit = data.get("weak_max_chars")
    return MarkerSet(tuple(markers), int(data.get("min_weak", 2)), int(limit) if limit is not None else None)
