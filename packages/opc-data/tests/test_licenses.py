"""Licences: fingerprinting of real licence files, the allow/deny policy, the attribution manifest."""

from __future__ import annotations

import email.message
import gzip
import importlib.metadata as md
import json

import pytest

from opc_data.licenses import (
    LicenseConfig,
    attribution,
    detect_license_text,
    is_license_file,
    license_from_files,
    license_from_metadata,
    license_verdict,
)


def test_license_files_of_the_dev_repositories_match_their_declared_license(shared_dir):
    root_files: dict[str, list[str]] = {}
    declared = {}
    with gzip.open(shared_dir / "data" / "raw_code" / "dev.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            declared[r["repo_name"]] = r["license"]
            if "/" not in r["path"] and is_license_file(r["path"]):
                root_files.setdefault(r["repo_name"], []).append(r["content"])
    assert len(root_files) >= 15
    def terms(expr):  # "Unlicense OR MIT" == "MIT OR Unlicense"
        return sorted(expr.split(" OR "))

    for repo, texts in root_files.items():
        assert terms(license_from_files(texts)) == terms(declared[repo]), repo
    # ripgrep: COPYING says "dual-licensed", LICENSE-MIT + UNLICENSE -> an OR expression
    assert license_from_files(root_files["BurntSushi/ripgrep"]) == "MIT OR Unlicense"


@pytest.mark.parametrize(("dist", "spdx"), [
    ("requests", "Apache-2.0"), ("click", "BSD-3-Clause"), ("six", "MIT"), ("wrapt", "BSD-2-Clause"),
    ("idna", "BSD-3-Clause"), ("pybind11", "BSD-3-Clause"), ("frozenlist", "Apache-2.0"),
])
def test_installed_distributions_license_files_are_recognised(dist, spdx):
    d = md.distribution(dist)
    texts = [f.read_text() for f in d.files or [] if is_license_file(f.name) and "dist-info" in str(f)]
    assert texts, dist
    assert spdx in {detect_license_text(t) for t in texts}


def test_license_from_metadata_prefers_the_spdx_expression():
    assert license_from_metadata(md.metadata("requests")) == "Apache-2.0"
    meta = email.message.Message()
    meta["License"] = "MIT License"
    assert license_from_metadata(meta) == "MIT"
    meta = email.message.Message()
    meta["Classifier"] = "License :: OSI Approved :: BSD License"
    assert license_from_metadata(meta) == "BSD-3-Clause"


def test_unrecognised_text_is_unknown_not_a_guess():
    assert detect_license_text("All rights reserved. Do not copy.") is None
    assert license_from_files([]) is None


def test_policy_denies_and_allows_by_spdx_expression():
    deny_gpl = LicenseConfig(deny=["GPL-3.0", "AGPL-3.0"])
    assert license_verdict("MIT", deny_gpl) is None
    assert license_verdict("GPL-3.0", deny_gpl) == "license:GPL-3.0"
    assert license_verdict("gpl-3.0", deny_gpl) == "license:gpl-3.0"
    assert license_verdict("MIT OR GPL-3.0", deny_gpl) is None  # the user may pick MIT
    assert license_verdict("MIT AND GPL-3.0", deny_gpl) == "license:GPL-3.0"
    assert license_verdict("(Apache-2.0 WITH LLVM-exception) AND AGPL-3.0", deny_gpl) == "license:AGPL-3.0"
    allow = LicenseConfig(allow=["MIT", "Apache-2.0", "BSD-3-Clause"])
    assert license_verdict("Apache-2.0 WITH LLVM-exception", allow) is None
    assert license_verdict("MPL-2.0", allow) == "license:MPL-2.0"
    assert license_verdict(None, allow) is None
    assert license_verdict(None, LicenseConfig(unknown="reject")) == "license:unknown"
    assert license_verdict("NOASSERTION", LicenseConfig(unknown="reject")) == "license:unknown"


def test_attribution_counts_files_per_repository_and_license():
    recs = [
        {"repo_name": "a/x", "license": "MIT", "size": 10, "source": "s1"},
        {"repo_name": "a/x", "license": "MIT", "size": 5, "source": "s1"},
        {"repo_name": "b/y", "license": None, "size": 7, "source": "s2"},
        {"repo_name": "c/z", "license": "Apache-2.0", "size": 1, "source": "s2"},
    ]
    out = attribution(recs)
    assert out["files"] == 4 and out["bytes"] == 23
    assert [r["repo_name"] for r in out["repositories"]] == ["a/x", "b/y", "c/z"]
    assert out["repositories"][0] == {"repo_name": "a/x", "license": "MIT", "files": 2, "bytes": 15,
                                      "files_per_license": {"MIT": 2}, "sources": ["s1"]}
    assert out["licenses"] == {"Apache-2.0": {"files": 1, "repositories": 1}, "MIT": {"files": 2, "repositories": 1},
                               "unknown": {"files": 1, "repositories": 1}}
    assert sum(v["files"] for v in out["licenses"].values()) == out["files"]
    json.dumps(out)  # serialisable as attribution.json


def test_missing_record_licenses_are_filled_from_the_repositorys_license_file(shared_dir, tmp_path):
    from opc_data.ingest import IngestConfig, read_records
    from opc_data.ingest.repo_license import fill_repo_licenses

    lines = []
    with gzip.open(shared_dir / "data" / "raw_code" / "dev.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r["repo_name"] in ("psf/requests", "spf13/cobra", "golang/sys"):
                if r["repo_name"] != "golang/sys":
                    r["license"] = None  # golang/sys keeps its declared licence
                if r["repo_name"] == "spf13/cobra" and is_license_file(r["path"]):
                    continue  # cobra without its licence file: stays unknown
                lines.append(r)
    path = tmp_path / "nolic.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    recs = list(read_records(str(path), IngestConfig()))
    assert [(r["repo_name"], r["path"]) for r in recs] == [(r["repo_name"], r["path"]) for r in lines]
    got = {r["repo_name"]: {x["license"] for x in recs if x["repo_name"] == r["repo_name"]} for r in recs}
    assert got == {"psf/requests": {"Apache-2.0"}, "spf13/cobra": {None}, "golang/sys": {"BSD-3-Clause"}}
    # bounded: a repository larger than the buffer is released unfilled, order intact
    small = list(fill_repo_licenses([dict(r) for r in lines[:50]], max_buffer_bytes=1000))
    assert [(r["repo_name"], r["path"]) for r in small] == [(r["repo_name"], r["path"]) for r in lines[:50]]
