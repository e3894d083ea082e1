"""Fuzzy dedup: verified removals, the keep rule, no chains through removed records, determinism."""

from __future__ import annotations

import gzip
import json
import random

import numpy as np
import pytest

from opc_data.dedup import DedupConfig, deduplicate
from opc_data.fuzzy_dedup import buckets_from_keys, resolve

# A permissive LSH (P(candidate) ~ 1 for Jaccard >= 0.5) so crafted pairs always meet; verification decides.
LOOSE = {"num_perm": 128, "bands": 64, "rows": 2}


def words(start: int, stop: int, prefix: str = "w") -> str:
    return " ".join(f"{prefix}{i}" for i in range(start, stop))


def rec(repo: str, path: str, content: str, stars=None, **extra) -> dict:
    return {
        "repo_name": repo,
        "path": path,
        "content": content,
        "blob_id": path,
        "stars": stars,
        "is_binary": False,
        "commit_date": "2024-01-01T00:00:00Z",
        **extra,
    }


def by_key(result) -> dict[tuple[str, str], dict]:
    return {(r["repo_name"], r["path"]): r for r in result.rows}


# A ~ B (J = 896/1096 = 0.818), B ~ C (0.818), A !~ C (796/1196 = 0.666)
A, B, C = words(0, 1000), words(100, 1100), words(200, 1200)


def test_fuzzy_dedup_removes_near_copy_pointing_at_most_starred():
    doc = words(0, 2000)
    near = doc + " trailing change"
    rows = by_key(deduplicate([rec("a/a", "x.py", doc, stars=1), rec("b/b", "x.py", near, stars=9)]))
    assert rows[("b/b", "x.py")]["keep"]
    removed = rows[("a/a", "x.py")]
    assert (removed["keep"], removed["dup_kind"]) == (False, "fuzzy")
    assert (removed["duplicate_of_repo_name"], removed["duplicate_of_path"]) == ("b/b", "x.py")
    assert removed["dup_jaccard"] == pytest.approx(1996 / 1998)


def test_no_chain_through_removed_record():
    result = deduplicate(
        [rec("r", "a", A, stars=3), rec("r", "b", B, stars=2), rec("r", "c", C, stars=1)],
        DedupConfig(**LOOSE),
    )
    rows = by_key(result)
    assert rows[("r", "a")]["keep"]
    assert rows[("r", "b")]["duplicate_of_path"] == "a" and rows[("r", "b")]["dup_jaccard"] == pytest.approx(
        896 / 1096
    )
    # C resembles only the removed B: it is not removed through B, and its check against A fails
    assert rows[("r", "c")]["keep"]
    assert result.stats["verification_rejected"] >= 1
    assert result.stats["fuzzy_removed"] == 1
    assert result.stats["cluster_size_histogram"] == {"1": 1, "2": 1}
    assert rows[("r", "b")]["cluster_id"] == rows[("r", "a")]["cluster_id"] != rows[("r", "c")]["cluster_id"]


def test_both_neighbours_removed_when_the_middle_one_is_best():
    rows = by_key(
        deduplicate(
            [rec("r", "a", A, stars=2), rec("r", "b", B, stars=3), rec("r", "c", C, stars=1)],
            DedupConfig(**LOOSE),
        )
    )
    assert rows[("r", "b")]["keep"]
    assert rows[("r", "a")]["duplicate_of_path"] == "b" and rows[("r", "c")]["duplicate_of_path"] == "b"


def test_verification_rejects_below_threshold_and_keeps_both():
    result = deduplicate(
        [rec("r", "a", A, stars=2), rec("r", "b", B, stars=1)], DedupConfig(verify_threshold=0.9, **LOOSE)
    )
    assert all(row["keep"] for row in result.rows)
    assert result.stats["candidate_pairs"] == 1 and result.stats["verification_rejected"] == 1


def test_without_verification_lsh_candidates_of_the_keeper_are_removed_unchecked():
    rows = by_key(
        deduplicate(
            [rec("r", "a", A, stars=3), rec("r", "b", B, stars=2), rec("r", "c", C, stars=1)],
            DedupConfig(verify=False, **LOOSE),
        )
    )
    assert rows[("r", "a")]["keep"]
    for path in "bc":
        assert rows[("r", path)]["duplicate_of_path"] == "a" and rows[("r", path)]["dup_jaccard"] is None


def test_exact_copies_of_a_fuzzy_removed_record_point_at_the_final_keeper():
    rows = by_key(
        deduplicate(
            [rec("r", "a", A, stars=9), rec("r", "b", B, stars=1), rec("s", "b", B, stars=5)],
            DedupConfig(**LOOSE),
        )
    )
    for key in [("r", "b"), ("s", "b")]:
        assert rows[key]["dup_kind"] == "fuzzy"
        assert (rows[key]["duplicate_of_repo_name"], rows[key]["duplicate_of_path"]) == ("r", "a")
    assert rows[("r", "a")]["keep"]


def test_token_less_records_never_fuzzy_match():
    records = [
        rec("r", "bin1", "\x00\x01 PNG a b c d e", is_binary=True),
        rec("r", "bin2", "\x00\x01 PNG a b c d e f", is_binary=True),
        rec("r", "ws1", "  \n"),
        rec("r", "ws2", "\t"),
        rec("r", "text", "a b c d e"),
    ]
    result = deduplicate(records, DedupConfig(**LOOSE))
    assert all(row["keep"] for row in result.rows)
    assert result.stats["token_less"] == 4


def test_repo_level_removes_whole_near_duplicate_repository():
    base = {f"f{i}.py": words(i * 1000, i * 1000 + 800) for i in range(4)}
    fork = {path: text + " edited" for path, text in base.items()}
    fork["extra.py"] = words(50_000, 50_010, "z")
    other = {"f0.py": words(0, 800, "q")}
    records = [rec("up/stream", p, t, stars=10) for p, t in base.items()]
    records += [rec("some/fork", p, t, stars=1) for p, t in fork.items()]
    records += [rec("else/where", p, t, stars=0) for p, t in other.items()]
    rows = by_key(deduplicate(records, DedupConfig(level="repo")))
    assert all(rows[("up/stream", p)]["keep"] for p in base) and rows[("else/where", "f0.py")]["keep"]
    for path in fork:
        row = rows[("some/fork", path)]
        assert row["dup_kind"] == "fuzzy" and row["duplicate_of_repo_name"] == "up/stream"
        assert row["duplicate_of_path"] == (path if path in base else None)
        assert row["dup_jaccard"] >= 0.8
    # file level leaves the fork alone except what is near-identical file by file
    file_rows = by_key(deduplicate(records))
    assert file_rows[("some/fork", "extra.py")]["keep"]


def test_resolve_is_independent_of_bucket_and_member_order():
    sets = {u: np.arange(u, u + 100, dtype=np.uint64) for u in range(6)}
    buckets = [np.array([0, 1, 2, 3]), np.array([3, 4, 5]), np.array([5, 0])]
    ranks = {u: (u % 3, u) for u in sets}
    first = resolve(buckets, ranks.__getitem__, sets.__getitem__, 0.9)
    again = resolve([b[::-1] for b in buckets[::-1]], ranks.__getitem__, sets.__getitem__, 0.9)
    assert first.removed == again.removed
    for unit, (keeper, sim) in first.removed.items():
        assert keeper not in first.removed and sim >= 0.9 and ranks[keeper] < ranks[unit]


def test_buckets_from_keys_groups_equal_band_keys():
    keys = np.array([[1, 5], [1, 6], [2, 6], [3, 7]], dtype=np.int64)
    groups = sorted(sorted(map(int, g)) for g in buckets_from_keys(keys, np.array([10, 11, 12, 13])))
    assert groups == [[10, 11], [11, 12]]


@pytest.fixture(scope="module")
def dev_records(shared_dir):
    with gzip.open(shared_dir / "data/raw_code/dev.jsonl.gz", "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def test_dev_corpus_decisions_identical_under_shuffles_and_one_pass_input(dev_records):
    rng = random.Random(3)
    records = [dict(r, stars=rng.choice([None, 1, 2])) for r in dev_records]
    reference = deduplicate(records)
    ref_rows = by_key(reference)
    assert reference.stats["fuzzy_removed"] > 0 and reference.stats["exact_removed"] > 0
    for seed in (1, 2):
        shuffled = records[:]
        random.Random(seed).shuffle(shuffled)
        assert by_key(deduplicate(shuffled)) == ref_rows
    one_pass = deduplicate(iter(records))
    assert not one_pass.stats["two_pass"] and reference.stats["two_pass"]
    assert by_key(one_pass) == ref_rows
    for row in ref_rows.values():
        if not row["keep"]:
            assert ref_rows[(row["duplicate_of_repo_name"], row["duplicate_of_path"])]["keep"]
    counts = reference.stats
    assert counts["kept"] + counts["exact_removed"] + counts["fuzzy_removed"] == len(records)
