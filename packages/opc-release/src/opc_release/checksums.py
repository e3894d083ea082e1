"""``SHA256SUMS`` in GNU coreutils format: ``<64 hex>  <relative path>``, one line per file, sorted.

Covers every file of a release directory except itself, so ``sha256sum -c SHA256SUMS`` run inside
the directory checks a download without any of our code. ``check_sums`` also reports files that are
present but not listed (an added file is tampering too), which ``sha256sum -c`` does not.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

SUMS_FILE = "SHA256SUMS"
_LINE = re.compile(r"^([0-9a-f]{64}) [ *](.+)$")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def release_files(root: Path) -> list[str]:
    """Every file under ``root`` (relative, sorted) except the top-level ``SHA256SUMS`` itself."""
    return sorted(rel for p in root.rglob("*") if p.is_file() and (rel := p.relative_to(root).as_posix()) != SUMS_FILE)


def write_sums(root: Path) -> str:
    """Write ``root/SHA256SUMS``; returns its text."""
    text = "".join(f"{sha256_file(root / rel)}  {rel}\n" for rel in release_files(root))
    (root / SUMS_FILE).write_text(text, encoding="utf-8")
    return text


def parse_sums(text: str) -> dict[str, str]:
    sums: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        m = _LINE.match(line)
        if not m:
            raise ValueError(f"{SUMS_FILE} line {n} is not '<sha256>  <path>': {line[:80]!r}")
        sums[m.group(2)] = m.group(1)
    return sums


def check_sums(root: Path) -> list[str]:
    """Problems found (empty = every listed file matches and nothing unlisted is present)."""
    sums_path = root / SUMS_FILE
    if not sums_path.exists():
        return [f"{SUMS_FILE} is missing"]
    try:
        sums = parse_sums(sums_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        return [str(exc)]
    problems = []
    for rel, digest in sums.items():
        path = root / rel
        if not path.is_file():
            problems.append(f"{rel}: listed but missing")
        elif sha256_file(path) != digest:
            problems.append(f"{rel}: checksum mismatch (modified after release)")
    problems += [f"{rel}: present but not listed in {SUMS_FILE}" for rel in release_files(root) if rel not in sums]
    return problems
