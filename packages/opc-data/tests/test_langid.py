"""Language id by file name / extension agrees with the OpenCoder reference on every shared file."""

from __future__ import annotations

import gzip
import json

import pytest

from opc_data.langid import DOC_TYPES, identify, languages, split_name


def _reference_rows(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            yield r["path"], r["program_lang"], r["doc_type"]


@pytest.mark.parametrize("name", ["opc_dev.jsonl.gz", "opc_test_data.jsonl.gz"])
def test_identify_agrees_with_reference_on_every_file(shared_dir, name):
    rows = list(_reference_rows(shared_dir / "reference" / name))
    assert rows
    mismatches = [(p, identify(p), (lang, dt)) for p, lang, dt in rows if identify(p) != (lang, dt)]
    assert mismatches == [], f"{len(mismatches)} of {len(rows)} differ, e.g. {mismatches[:5]}"


def test_file_name_wins_over_extension():
    assert identify("src/CMakeLists.txt") == ("cmake", "code")
    assert identify("notes.txt") == ("text", "text")
    assert identify("requirements.txt") == ("text", "text")
    assert identify("a/b/Makefile") == ("makefile", "code")


def test_extension_lookup_is_case_sensitive():
    assert identify("x.C") == ("cpp", "code")
    assert identify("x.c") == ("c", "code")


def test_dotfiles_have_no_extension_like_the_reference():
    assert split_name("a/.coveragerc") == (".coveragerc", "")
    assert identify(".coveragerc") == ("ini", "data")
    assert identify(".somethingrc") == ("unknown", "unknown")


def test_excluded_and_unknown_doc_types():
    assert identify("logo.svg") == ("svg", "excluded")
    assert identify("data.csv") == ("csv", "excluded")
    assert identify("nb.ipynb") == ("jupyter notebook", "excluded")
    assert identify("script") == ("unknown", "unknown")
    assert identify("archive.tar.gz") == ("unknown", "unknown")


def test_doc_types_cover_text_data_code():
    assert identify("README.md") == ("markdown", "text")
    assert identify("x.yaml") == ("yaml", "data")
    assert identify("x.py") == ("python", "code")
    assert {identify(p)[1] for p in ["a.py", "a.json", "a.md", "a.svg", "a"]} == set(DOC_TYPES)


def test_table_covers_about_six_hundred_languages():
    assert 600 <= len(languages()) <= 700
