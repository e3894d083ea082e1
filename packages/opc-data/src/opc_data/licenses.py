"""Licences: an SPDX licence per record, a recipe allow/deny policy, and the attribution manifest.

    record["license"]  (from the dump)                        ─┐
    repository LICENSE/COPYING file  (detect_license_text)      ├─▶ SPDX expression ─▶ license_verdict ─▶ reject "license:<id>"
    distribution metadata  (license_from_metadata)             ─┘                                     └▶ Attribution -> attribution.json

Where it sits: readers fill ``license`` (record field, else the repository's licence file, else package
metadata); the data stage calls ``license_verdict`` per record with the recipe's ``LicenseConfig`` and
ships ``attribution(kept records)`` as ``attribution.json``; the release stage copies it.

Licence-file detection is fingerprinting by the distinctive sentences of ~20 common licences (after
lower-casing and collapsing whitespace), not a full SPDX matcher: unusual or modified texts give None
(unknown). Several licence files in one repository are joined with ``OR`` when one of them says the project
is dual-licensed, else with ``AND`` (conservative: a policy that denies any of them rejects the files).

What it does NOT do: per-file licence headers (SPDX-License-Identifier comments) or legal advice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

UNKNOWN = "unknown"

# File names that hold a repository's licence (matched on the base name, case-insensitive).
LICENSE_FILE_RE = re.compile(r"^(licen[cs]e|copying|unlicense)([-._ ][\w.-]*)?$", re.IGNORECASE)


def is_license_file(name: str) -> bool:
    return bool(LICENSE_FILE_RE.match(name.rsplit("/", 1)[-1]))


def _norm(text: str) -> str:
    return re.sub(r"[\s*#/>|\-]+", " ", text.lower()).replace("“", '"').replace("”", '"').replace("’", "'")


# (SPDX id, phrases that must all be present, phrases that must all be absent). First match wins, so the more
# specific licence comes first (LGPL before GPL, MIT-0 before MIT, BSD-3 before BSD-2, 0BSD before ISC).
_FINGERPRINTS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("Apache-2.0", ("apache license", "version 2.0"), ()),
    ("AGPL-3.0", ("gnu affero general public license", "version 3"), ()),
    ("LGPL-3.0", ("gnu lesser general public license", "version 3"), ()),
    ("LGPL-2.1", ("gnu lesser general public license", "version 2.1"), ()),
    ("LGPL-2.0", ("gnu library general public license", "version 2"), ()),
    ("GPL-3.0", ("gnu general public license", "version 3"), ()),
    ("GPL-2.0", ("gnu general public license", "version 2"), ()),
    ("MPL-2.0", ("mozilla public license", "2.0"), ()),
    ("EPL-2.0", ("eclipse public license", "2.0"), ()),
    ("EPL-1.0", ("eclipse public license", "1.0"), ()),
    ("Unlicense", ("this is free and unencumbered software released into the public domain",), ()),
    ("CC0-1.0", ("cc0 1.0",), ()),
    ("CC0-1.0", ("creative commons", "cc0"), ()),
    ("BSL-1.0", ("boost software license",), ()),
    ("MIT-0", ("permission is hereby granted, free of charge, to any person obtaining a copy",),
     ("the above copyright notice and this permission notice shall be included",)),
    ("MIT", ("permission is hereby granted, free of charge, to any person obtaining a copy",
             "the above copyright notice and this permission notice shall be included"), ()),
    ("0BSD", ("permission to use, copy, modify, and/or distribute this software for any purpose with or without fee",),
     ("the above copyright notice and this permission notice appear in all copies",)),
    ("ISC", ("permission to use, copy, modify, and",
             "distribute this software for any purpose with or without fee is hereby granted",
             "the above copyright notice and this permission notice appear in all copies"), ()),
    ("BSD-3-Clause", ("redistribution and use in source and binary forms", "endorse or promote products"), ()),
    ("BSD-2-Clause", ("redistribution and use in source and binary forms",
                      "redistributions in binary form must reproduce"), ("endorse or promote products",)),
    ("Zlib", ("altered source versions must be plainly marked as such",), ()),
    ("PSF-2.0", ("python software foundation license",), ()),
    ("Artistic-2.0", ("artistic license 2.0",), ()),
    ("WTFPL", ("do what the fuck you want to",), ()),
)


def detect_license_text(text: str) -> str | None:
    """SPDX id of a licence text by its distinctive sentences, or None if not recognised."""
    t = _norm(text[:200_000])
    for spdx, need, forbid in _FINGERPRINTS:
        if all(_norm(p) in t for p in need) and not any(_norm(p) in t for p in forbid):
            return spdx
    return None


def combine(ids: Iterable[str | None]) -> str | None:
    """Several licence files of one repository -> one expression (sorted, de-duplicated, AND-joined)."""
    found = sorted({i for i in ids if i})
    if not found:
        return None
    if len(found) == 1:
        return found[0]
    return " AND ".join(f"({i})" if " " in i else i for i in found)


_ALTERNATIVES = re.compile(r"dual[- ]licen[cs]ed|under the terms of either|at your option", re.IGNORECASE)


def license_from_files(texts: Iterable[str]) -> str | None:
    """A repository's licence from the texts of its root licence files.

    One recognised licence -> its id; several -> ``A OR B`` when a file says the project is dual-licensed
    ("dual-licensed", "under the terms of either", "at your option"), else ``A AND B`` (conservative).
    """
    texts = list(texts)
    ids = [detect_license_text(t) for t in texts]
    expr = combine(ids)
    if expr and " AND " in expr and any(_ALTERNATIVES.search(t[:20_000]) for t in texts):
        expr = expr.replace(" AND ", " OR ")
    return expr


# Short names seen in package metadata ``License:`` fields and trove classifiers -> SPDX.
_NAME_TO_SPDX = {
    "mit": "MIT", "mit license": "MIT", "the mit license (mit)": "MIT", "mit licence": "MIT", "expat": "MIT",
    "mit-0": "MIT-0", "mit no attribution license (mit-0)": "MIT-0",
    "apache 2.0": "Apache-2.0", "apache-2.0": "Apache-2.0", "apache license 2.0": "Apache-2.0",
    "apache license, version 2.0": "Apache-2.0", "apache software license": "Apache-2.0",
    "apache software license 2.0": "Apache-2.0", "apache": "Apache-2.0", "asl 2": "Apache-2.0",
    "bsd": "BSD-3-Clause", "bsd license": "BSD-3-Clause", "new bsd license": "BSD-3-Clause",
    "bsd-3-clause": "BSD-3-Clause", "3-clause bsd license": "BSD-3-Clause", "bsd 3-clause license": "BSD-3-Clause",
    "bsd-2-clause": "BSD-2-Clause", "simplified bsd": "BSD-2-Clause", "bsd 2-clause license": "BSD-2-Clause",
    "isc": "ISC", "isc license": "ISC", "isc license (iscl)": "ISC",
    "mozilla public license 2.0 (mpl 2.0)": "MPL-2.0", "mpl-2.0": "MPL-2.0", "mpl 2.0": "MPL-2.0",
    "python software foundation license": "PSF-2.0", "psf": "PSF-2.0", "psf-2.0": "PSF-2.0",
    "gnu general public license v3 (gplv3)": "GPL-3.0", "gplv3": "GPL-3.0", "gpl-3.0": "GPL-3.0",
    "gnu general public license v2 (gplv2)": "GPL-2.0", "gplv2": "GPL-2.0", "gpl-2.0": "GPL-2.0",
    "gnu lesser general public license v3 (lgplv3)": "LGPL-3.0", "lgpl-3.0": "LGPL-3.0",
    "gnu lesser general public license v2 or later (lgplv2+)": "LGPL-2.0-or-later",
    "the unlicense (unlicense)": "Unlicense", "unlicense": "Unlicense",
    "cc0 1.0 universal (cc0 1.0) public domain dedication": "CC0-1.0", "cc0-1.0": "CC0-1.0",
    "zlib": "Zlib", "zlib/libpng license": "Zlib", "boost software license 1.0 (bsl-1.0)": "BSL-1.0",
    "artistic license": "Artistic-2.0", "historical permission notice and disclaimer (hpnd)": "HPND",
}


def license_from_name(name: str | None) -> str | None:
    """A short licence name or SPDX id as metadata writes it -> SPDX id (None if unrecognised)."""
    if not name:
        return None
    key = name.strip().lower()
    if key in _NAME_TO_SPDX:
        return _NAME_TO_SPDX[key]
    if "\n" not in name and _looks_like_spdx_expression(name.strip()):
        return name.strip()
    return None


_SPDX_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+-]*$")


def _looks_like_spdx_expression(text: str) -> bool:
    tokens = [t for t in re.split(r"[\s()]+", text) if t]
    ops = {"AND", "OR", "WITH"}
    return bool(tokens) and all(t in ops or _SPDX_ID.match(t) for t in tokens) and any(
        any(c.isdigit() for c in t) or t.isupper() for t in tokens if t not in ops
    )


def license_from_metadata(metadata: Any) -> str | None:
    """SPDX expression of an installed distribution: License-Expression, else License, else classifiers."""
    expr = metadata.get("License-Expression")
    if expr and _looks_like_spdx_expression(expr.strip()):
        return expr.strip()
    by_name = license_from_name(metadata.get("License"))
    if by_name:
        return by_name
    ids = []
    for classifier in metadata.get_all("Classifier") or []:
        if classifier.startswith("License ::"):
            leaf = classifier.rsplit("::", 1)[-1].strip()
            spdx = license_from_name(leaf)
            if spdx:
                ids.append(spdx)
    return combine(ids)


# --------------------------------------------------------------------------------------------- policy


class LicenseConfig(BaseModel):
    """Which licences may enter the corpus (recipe: ``stages.data.licenses``).

    ``allow`` None = every licence not denied; otherwise only those listed. ``deny`` always wins.
    ``unknown`` decides records with no licence (``None``/``NOASSERTION``). Ids match case-insensitively;
    an expression ``A OR B`` passes if either side passes, ``A AND B`` only if both do; ``X WITH exc`` is
    judged by ``X``.
    """

    model_config = ConfigDict(extra="forbid")
    allow: list[str] | None = None
    deny: list[str] = Field(default_factory=list)
    unknown: Literal["allow", "reject"] = "allow"


_TOKEN = re.compile(r"\(|\)|[^\s()]+")


class _Expr:
    """Tiny SPDX expression evaluator: returns (allowed, first offending id)."""

    def __init__(self, text: str, ok) -> None:
        self.tokens = _TOKEN.findall(text)
        self.i = 0
        self.ok = ok

    def peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> str:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def expr(self) -> tuple[bool, str | None]:
        allowed, bad = self.term()
        while (self.peek() or "").upper() == "OR":
            self.take()
            a2, b2 = self.term()
            if a2:
                allowed, bad = True, None
            elif not allowed:
                bad = bad or b2
        return allowed, bad

    def term(self) -> tuple[bool, str | None]:
        allowed, bad = self.factor()
        while (self.peek() or "").upper() == "AND":
            self.take()
            a2, b2 = self.factor()
            if not a2:
                if allowed:
                    bad = b2
                allowed = False
        return allowed, bad

    def factor(self) -> tuple[bool, str | None]:
        tok = self.take() if self.peek() is not None else ""
        if tok == "(":
            result = self.expr()
            if self.peek() == ")":
                self.take()
            return result
        if (self.peek() or "").upper() == "WITH":
            self.take()
            if self.peek() is not None:
                self.take()
        return (True, None) if self.ok(tok) else (False, tok)


def license_verdict(license: str | None, config: LicenseConfig) -> str | None:
    """None if the licence is allowed, else the rejection reason ``license:<id>``."""
    if license is None or not license.strip() or license.strip().upper() in ("NOASSERTION", "NONE", UNKNOWN.upper()):
        return None if config.unknown == "allow" else f"license:{UNKNOWN}"
    deny = {d.lower() for d in config.deny}
    allow = None if config.allow is None else {a.lower() for a in config.allow}

    def ok(spdx: str) -> bool:
        key = spdx.lower()
        return key not in deny and (allow is None or key in allow)

    allowed, bad = _Expr(license, ok).expr()
    return None if allowed else f"license:{bad or license}"


# ----------------------------------------------------------------------------------------- attribution


class Attribution:
    """Counts per repository and per licence; mergeable across shards (``merge``) for parallel engines."""

    def __init__(self) -> None:
        self.repos: dict[str, dict[str, Any]] = {}

    def add(self, record: dict[str, Any]) -> None:
        repo = self.repos.setdefault(
            record["repo_name"], {"files": 0, "bytes": 0, "licenses": {}, "sources": set()}
        )
        repo["files"] += 1
        repo["bytes"] += int(record.get("size") or 0)
        lic = record.get("license") or UNKNOWN
        repo["licenses"][lic] = repo["licenses"].get(lic, 0) + 1
        if record.get("source"):
            repo["sources"].add(record["source"])

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Attribution:
        """The inverse of ``to_dict`` (an earlier output's ``attribution.json``)."""
        att = cls()
        for r in data.get("repositories", []):
            att.repos[r["repo_name"]] = {"files": r["files"], "bytes": r["bytes"],
                                         "licenses": dict(r["files_per_license"]), "sources": set(r["sources"])}
        return att

    def merge(self, other: Attribution) -> Attribution:
        for name, o in other.repos.items():
            r = self.repos.setdefault(name, {"files": 0, "bytes": 0, "licenses": {}, "sources": set()})
            r["files"] += o["files"]
            r["bytes"] += o["bytes"]
            for lic, n in o["licenses"].items():
                r["licenses"][lic] = r["licenses"].get(lic, 0) + n
            r["sources"] |= o["sources"]
        return self

    def to_dict(self) -> dict[str, Any]:
        repositories = []
        licenses: dict[str, dict[str, int]] = {}
        for name in sorted(self.repos):
            r = self.repos[name]
            lic_names = sorted(r["licenses"])
            repositories.append({
                "repo_name": name,
                "license": lic_names[0] if len(lic_names) == 1 else lic_names,
                "files": r["files"],
                "bytes": r["bytes"],
                "files_per_license": dict(sorted(r["licenses"].items())),
                "sources": sorted(r["sources"]),
            })
            for lic, n in r["licenses"].items():
                entry = licenses.setdefault(lic, {"files": 0, "repositories": 0})
                entry["files"] += n
                entry["repositories"] += 1
        return {
            "files": sum(r["files"] for r in self.repos.values()),
            "bytes": sum(r["bytes"] for r in self.repos.values()),
            "repositories": repositories,
            "licenses": dict(sorted(licenses.items())),
        }


def attribution(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The attribution manifest for these records (the data stage passes the kept ones)."""
    acc = Attribution()
    for r in records:
        acc.add(r)
    return acc.to_dict()
