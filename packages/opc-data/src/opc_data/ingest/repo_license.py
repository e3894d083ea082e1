"""Fill a missing ``license`` of Stack-style records from their repository's own licence file.

    ... (repo A, license None) x N, incl. A/LICENSE ... ──▶ every A record gets detect(A/LICENSE)

Record dumps usually keep a repository's files together (sorted by repository, then path), but the
root ``LICENSE`` need not come first. So consecutive records of one repository whose ``license`` is
missing are held back until the repository ends, then released with the licence detected from its
root licence files (``licenses.license_from_files``). Records that already carry a licence pass
straight through. Memory is bounded: past ``max_buffer_bytes`` of held content the group is released
as it is (licence left unknown) — the guarantee is "never more than that held", not "always filled".

What it does NOT do: join records of one repository scattered across a dump (that needs a global
pass) or override a licence the record carries.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from opc_data.licenses import is_license_file, license_from_files

DEFAULT_MAX_BUFFER_BYTES = 256 * 1024 * 1024


def _release(group: list[dict[str, Any]], fill: bool) -> Iterator[dict[str, Any]]:
    if fill and any(r.get("license") is None for r in group):
        texts = [r["content"] for r in group
                 if "/" not in r["path"] and is_license_file(r["path"]) and not r.get("quarantine_reason")]
        found = license_from_files(texts) if texts else None
        if found:
            for r in group:
                if r.get("license") is None:
                    r["license"] = found
    yield from group


def fill_repo_licenses(records: Iterable[dict[str, Any]], max_buffer_bytes: int = DEFAULT_MAX_BUFFER_BYTES) -> Iterator[dict[str, Any]]:
    """Yield ``records`` in the same order, with missing licences filled per repository where possible."""
    current: str | None = None
    group: list[dict[str, Any]] = []
    held = 0
    overflowed = False
    for r in records:
        if r["repo_name"] != current:
            yield from _release(group, not overflowed)
            current, group, held, overflowed = r["repo_name"], [], 0, False
        if overflowed or (not group and r.get("license") is not None):
            yield r  # nothing held back: pass straight through
            continue
        group.append(r)
        held += len(r["content"])
        if held > max_buffer_bytes:
            overflowed = True
            yield from group  # too big to hold: released as is, licence left unknown
            group = []
    yield from _release(group, not overflowed)
