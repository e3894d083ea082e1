"""The iterations' mining rules: the 10% domain threshold, URL patterns, and pattern pages as positives."""

from __future__ import annotations

import numpy as np

from opc_recall.bpe import PreTokenizer, train_bpe
from opc_recall.classifier import FastTextConfig, FeatureConfig, page_text
from opc_recall.domains import path_prefixes, registered_domain
from opc_recall.iterations import IterationConfig, Page, domain_table, run_iterations, url_patterns


def _pages(urls):
    return [Page(str(i), u, registered_domain(u), "x") for i, u in enumerate(urls)]


def test_domain_is_code_related_only_above_ten_percent_recalled():
    urls = [f"https://blog.example.com/post/{i}" for i in range(20)]
    pages = _pages(urls)
    cfg = IterationConfig()
    two = np.zeros(20, dtype=bool)
    two[:2] = True  # exactly 10%: not above the threshold
    assert domain_table(pages, two, cfg)[0]["code_related"] is False
    three = np.zeros(20, dtype=bool)
    three[:3] = True  # 15%
    row = domain_table(pages, three, cfg)[0]
    assert row == {"domain": "example.com", "pages": 20, "recalled": 3, "fraction": 0.15, "code_related": True}


def test_url_pattern_is_the_shallowest_prefix_that_concentrates_recalled_pages():
    urls = ([f"https://www.example.org/docs/api/p{i}.html" for i in range(4)]
            + [f"https://www.example.org/news/{i}.html" for i in range(6)])
    recalled = np.array([True, True, True, False] + [False] * 6)
    pats = url_patterns(_pages(urls), recalled, {"example.org"}, IterationConfig())
    assert pats == {"example.org": [{"prefix": "/docs/", "pages": 4, "recalled": 3, "fraction": 0.75}]}
    assert path_prefixes("https://a.org/questions/123/how-to") == ["/questions/", "/questions/123/"]


def test_domain_crossing_ten_percent_gets_a_pattern_whose_pages_become_positives(dev_pages):
    so = [p for p in dev_pages if p["registered_domain"] == "stackoverflow.com" and p["code_related"] == 1]
    neg = [p for p in dev_pages if p["code_related"] == 0]
    seeds_pos, pool_docs = so[:30], so[30:40]
    seeds_neg, pool_news, pool_other = neg[:100], neg[200:230], neg[230:330]
    features = FeatureConfig(bpe_vocab_size=2000, max_chars=2000)

    def row(p, url, label):
        return {"key": url, "url": url, "text": page_text(url, p.get("title"), p["text"], features), "label": label}

    seeds = [row(p, p["url"], 1) for p in seeds_pos] + [row(p, p["url"], 0) for p in seeds_neg]
    pool = ([row(p, f"https://devdocs-example.org/docs/q{i}.html", None) for i, p in enumerate(pool_docs)]
            + [row(p, f"https://devdocs-example.org/news/n{i}.html", None) for i, p in enumerate(pool_news)]
            + [row(p, p["url"] + f"#pool{i}", None) for i, p in enumerate(pool_other)])
    pretok = PreTokenizer(train_bpe([r["text"] for r in seeds + pool], 2000), 2000)

    def pages(rows):
        lines = pretok([r["text"] for r in rows])
        return [Page(r["key"], r["url"], registered_domain(r["url"]), line, r["label"]) for r, line in zip(rows, lines, strict=True)]

    its = run_iterations(pages(seeds), pages(pool), IterationConfig(iterations=2, pool_negatives=1.0),
                         FastTextConfig(dim=16, epoch=20), features, pretok, seed=3, threshold=0.3)
    first = {d["domain"]: d for d in its[0].domains}["devdocs-example.org"]
    assert first["pages"] == 40 and first["fraction"] > 0.10 and first["code_related"]
    assert [p["prefix"] for p in its[0].patterns["devdocs-example.org"]] == ["/docs/"]
    assert its[0].pattern_positives == 0
    assert its[1].pattern_positives == 10  # the /docs/ pages joined the positives of iteration 2
    assert its[1].positives == 30 + 10


def test_threshold_with_no_out_of_fold_scores_does_not_crash():
    """A small pool can put every labelled page in one fold: the other folds then have no scores."""
    import numpy as np

    from opc_recall.crossval import best_threshold, summarize

    assert best_threshold(np.array([], dtype=int), np.array([])) == 0.5
    result = summarize(np.array([1, 0, 1]), np.array([0.9, 0.2, 0.7]), np.array([0, 0, 0]))
    assert result["fold_thresholds"] == {0: 0.5} and result["threshold"] > 0.2
