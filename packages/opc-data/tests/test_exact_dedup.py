"""Exact dedup: SHA-256 groups and the keep rule (stars, then latest commit, then (repo, path))."""

from __future__ import annotations

import gzip
import hashlib
import json
import random

import pytest

from opc_data.dedup import DedupConfig, deduplicate
from opc_data.exact_dedup import commit_timestamp, content_sha256, exact_key, keep_rank

EXACT_ONLY = DedupConfig(fuzzy=False)


def rec(repo: str, path: str, content: str = "same text here", stars=None, date=None, **extra) -> dict:
    return {
        "repo_name": repo,
        "path": path,
        "content": content,
        "blob_id": "b",
        "stars": stars,
        "commit_date": date,
        "is_binary": False,
        **extra,
    }


def by_key(result) -> dict[tuple[str, str], dict]:
    return {(r["repo_name"], r["path"]): r for r in result.rows}


def test_content_sha256_is_sha256_of_utf8_bytes():
    assert content_sha256("héllo") == hashlib.sha256("héllo".encode()).hexdigest()
    assert content_sha256(b"\x00\x01") == hashlib.sha256(b"\x00\x01").hexdigest()
    assert content_sha256(None) == hashlib.sha256(b"").hexdigest()


def test_exact_dedup_keeps_most_starred_copy():
    rows = by_key(
        deduplicate(
            [rec("a/x", "f.py", stars=3), rec("b/y", "f.py", stars=10), rec("c/z", "f.py", stars=0)],
            EXACT_ONLY,
        )
    )
    assert rows[("b/y", "f.py")]["keep"]
    for key in [("a/x", "f.py"), ("c/z", "f.py")]:
        assert not rows[key]["keep"]
        assert rows[key]["dup_kind"] == "exact"
        assert (rows[key]["duplicate_of_repo_name"], rows[key]["duplicate_of_path"]) == ("b/y", "f.py")
        assert rows[key]["dup_jaccard"] == 1.0
        assert rows[key]["cluster_id"] == rows[("b/y", "f.py")]["cluster_id"]


def test_exact_dedup_null_stars_rank_below_zero_stars():
    rows = by_key(
        deduplicate(
            [rec("a/x", "f", stars=None, date="2030-01-01T00:00:00Z"), rec("b/y", "f", stars=0)], EXACT_ONLY
        )
    )
    assert rows[("b/y", "f")]["keep"] and not rows[("a/x", "f")]["keep"]


def test_exact_dedup_prefers_latest_commit_when_stars_tie_comparing_instants_across_offsets():
    # 10:00+05:00 is 05:00 UTC, earlier than 06:00 UTC
    records = [
        rec("a/x", "f", stars=5, date="2024-01-01T10:00:00+05:00"),
        rec("b/y", "f", stars=5, date="2024-01-01T06:00:00+00:00"),
        rec("c/z", "f", stars=5, date=None),
    ]
    rows = by_key(deduplicate(records, EXACT_ONLY))
    assert [k for k, r in rows.items() if r["keep"]] == [("b/y", "f")]


def test_exact_dedup_tie_break_is_smallest_repo_then_path():
    records = [rec("b/b", "a.py"), rec("a/a", "z.py"), rec("a/a", "b.py")]
    rows = by_key(deduplicate(records, EXACT_ONLY))
    assert [k for k, r in rows.items() if r["keep"]] == [("a/a", "b.py")]


def test_keep_rank_orders_as_documented():
    best = keep_rank(rec("z/z", "z", stars=7, date="2020-01-01"))
    assert best < keep_rank(rec("a/a", "a", stars=6, date="2030-01-01"))
    assert keep_rank(rec("a", "a", stars=1, date="2020-01-02")) < keep_rank(
        rec("a", "a", stars=1, date="2020-01-01")
    )
    assert keep_rank(rec("a", "a", date="not a date")) == keep_rank(rec("a", "a", date=None))
    assert (
        keep_rank(rec("a", "a", stars=float("nan")))
        == keep_rank(rec("a", "a", stars="n/a"))
        == keep_rank(rec("a", "a"))
    )
    assert keep_rank(rec("a", "a", stars="12")) == keep_rank(rec("a", "a", stars=12))
    assert commit_timestamp("2024-01-01T00:00:00Z") == commit_timestamp("2024-01-01T00:00:00+00:00")


def test_binary_and_empty_records_take_part_in_exact_dedup():
    binary = "\x89PNG\x00\x01\x02"
    records = [
        rec("a/a", "img.png", binary, is_binary=True),
        rec("b/b", "img.png", binary, is_binary=True, stars=1),
        rec("a/a", "empty1", ""),
        rec("a/a", "empty2", ""),
    ]
    rows = by_key(deduplicate(records))  # fuzzy on: token-less records still go through exact dedup
    assert rows[("b/b", "img.png")]["keep"] and rows[("a/a", "img.png")]["dup_kind"] == "exact"
    assert rows[("a/a", "empty1")]["keep"] and rows[("a/a", "empty2")]["dup_kind"] == "exact"


def test_unread_oversize_content_is_keyed_by_blob_id_not_by_empty_text():
    big1 = rec("a/a", "big1", "", size=9_000_000, blob_id="1" * 40, quarantine_reason="oversize: 9 MB")
    big2 = rec("b/b", "big2", "", size=9_000_000, blob_id="1" * 40, quarantine_reason="oversize: 9 MB")
    big3 = rec("c/c", "big3", "", size=9_000_000, blob_id="2" * 40, quarantine_reason="oversize: 9 MB")
    empty = rec("d/d", "empty", "", size=0)
    assert exact_key(big1, 0) == exact_key(big2, 1) != exact_key(big3, 2) != exact_key(empty, 3)
    rows = by_key(deduplicate([big1, big2, big3, empty]))
    assert [k for k, r in rows.items() if not r["keep"]] == [("b/b", "big2")]


@pytest.fixture(scope="module")
def dev_records(shared_dir):
    with gzip.open(shared_dir / "data/raw_code/dev.jsonl.gz", "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def test_exact_dedup_decisions_identical_under_shuffles_with_stars(dev_records):
    rng = random.Random(7)
    records = [dict(r, stars=rng.choice([None, 0, 1, 5])) for r in dev_records]
    reference = by_key(deduplicate(records, EXACT_ONLY))
    for seed in (1, 2, 3):
        shuffled = records[:]
        random.Random(seed).shuffle(shuffled)
        assert by_key(deduplicate(shuffled, EXACT_ONLY)) == reference
    removed = [r for r in reference.values() if not r["keep"]]
    assert len(removed) == len(records) - len({exact_key(r, i) for i, r in enumerate(records)})
    for r in removed:
        assert reference[(r["duplicate_of_repo_name"], r["duplicate_of_path"])]["keep"]
