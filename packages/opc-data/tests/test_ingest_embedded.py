"""The embedded default corpus: real installed source files, bounded, several languages, deterministic.

Its one definition is the tiny recipe's ``stages.data.ingest`` (no second list in code): these tests read it."""

from __future__ import annotations

import fnmatch
import importlib.metadata as md
from collections import Counter
from pathlib import Path

import pytest

from opc_core.errors import OpcError
from opc_core.recipe import load_recipe
from opc_data.encoding import reason_code
from opc_data.ingest import (
    EmbeddedSource,
    IngestConfig,
    plan_units,
    read_records,
)
from opc_data.ingest.embedded_corpus import fingerprint
from opc_data.langid import identify

TINY_INGEST = load_recipe(Path(__file__).resolve().parents[3] / "recipes/tiny.yaml").stage_config("data").ingest
TINY_DISTRIBUTIONS = TINY_INGEST.sources[0].distributions
# a large distribution read through include patterns (web assets, templates, SQL, Lua)
PREFECT_INCLUDE = ["prefect/server/ui/index.html", "prefect/server/ui/assets/WorkPool*.css",
                   "prefect/deployments/*.yaml", "prefect/server/database/sql/*"]


@pytest.fixture(scope="module")
def corpus():
    return list(read_records(None, TINY_INGEST))


def test_tiny_recipe_sources_are_the_embedded_corpus():
    units = plan_units(TINY_INGEST)
    assert [u.kind for u in units] == ["embedded"] * len(TINY_DISTRIBUTIONS)
    assert [u.uri for u in units] == list(TINY_DISTRIBUTIONS)


def test_no_sources_is_an_error_that_names_the_setting():
    with pytest.raises(OpcError, match="stages.data.ingest.sources is empty"):
        plan_units(IngestConfig())


def test_corpus_is_real_installed_code_one_repository_per_distribution(corpus):
    repos = {r["repo_name"] for r in corpus}
    expected = {f"pypi/{md.metadata(n)['Name'].lower().replace('_', '-').replace('.', '-')}-{md.version(n)}"
                for n in TINY_DISTRIBUTIONS}
    assert repos == expected
    requests_api = next(r for r in corpus if r["repo_name"].startswith("pypi/requests-") and r["path"] == "requests/api.py")
    on_disk = md.distribution("requests").locate_file("requests/api.py").read_text(encoding="utf-8")
    assert requests_api["content"] == on_disk
    assert not any(r["path"].endswith((".pyc", ".so")) or "__pycache__" in r["path"] for r in corpus)
    assert any("dist-info/" in r["path"] and "LICENSE" in r["path"].upper() for r in corpus)


def test_corpus_is_bounded_and_spans_several_languages(corpus):
    total = sum(r["size"] for r in corpus)
    assert 1_000_000 < total < 16_000_000
    langs = Counter(identify(r["path"])[0] for r in corpus)
    for lang in ("python", "c", "cpp", "json", "yaml", "markdown", "cmake", "cython"):
        assert langs[lang] > 0, lang
    assert sum(1 for r in corpus if r["quarantine_reason"] is None) > 0.95 * len(corpus)
    assert {reason_code(r["quarantine_reason"]) for r in corpus} <= {None, "binary"}


def test_every_repository_has_a_license_from_metadata_or_license_file(corpus):
    lic = {r["repo_name"]: r["license"] for r in corpus}
    assert all(lic.values()), {k: v for k, v in lic.items() if not v}
    assert lic[next(k for k in lic if k.startswith("pypi/requests-"))] == "Apache-2.0"


def test_declared_license_metadata_wins_over_bundled_third_party_license_files():
    recs = read_records({"kind": "embedded", "distributions": ["matplotlib"],
                         "include": {"matplotlib": ["matplotlib/backends/web_backend/*"]}}, IngestConfig())
    assert {r["license"] for r in recs} == {"PSF-2.0"}


def test_corpus_is_identical_on_a_second_read(corpus):
    again = list(read_records(None, TINY_INGEST))
    assert [(r["repo_name"], r["path"], r["blob_id"]) for r in again] == [(r["repo_name"], r["path"], r["blob_id"]) for r in corpus]
    source = EmbeddedSource(distributions=list(TINY_DISTRIBUTIONS))
    assert fingerprint(source) == fingerprint(EmbeddedSource(distributions=list(TINY_DISTRIBUTIONS)))


def test_include_patterns_select_files_of_large_distributions():
    recs = list(read_records({"kind": "embedded", "distributions": ["prefect"], "include": {"prefect": PREFECT_INCLUDE}},
                             IngestConfig()))
    prefect = [r["path"] for r in recs]
    assert "prefect/server/ui/index.html" in prefect
    assert all(".dist-info/" in p or any(fnmatch.fnmatchcase(p, pat) for pat in PREFECT_INCLUDE) for p in prefect)
    assert sum(r["size"] for r in recs) < 1_000_000
    langs = {identify(p)[0] for p in prefect}
    assert {"html", "css", "yaml"} <= langs


def test_unknown_distribution_and_budget_overrun_are_clear_errors():
    with pytest.raises(OpcError, match="not installed"):
        plan_units(IngestConfig(sources=[{"kind": "embedded", "distributions": ["no-such-dist-xyz"]}]))
    with pytest.raises(OpcError, match="max_total_bytes"):
        plan_units(IngestConfig(sources=[{"kind": "embedded", "distributions": ["requests"], "max_total_bytes": 1000}]))
    with pytest.raises(OpcError, match="match no file"):
        plan_units(IngestConfig(sources=[{"kind": "embedded", "distributions": ["prefect"],
                                          "include": {"prefect": ["prefect/no-such-file-*.js"]}}]))
