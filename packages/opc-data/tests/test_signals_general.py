"""General code signals (qsc_code_*): the reference definitions on small crafted documents."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from opc_data.document import WORDPUNCT_RE, Document, split_lines
from opc_data.signals import compute_signals
from opc_data.signals.general_code import SIGNALS, python_comment_text
from opc_data.signals.repetition import ngram_repetition


def _doc(
    content: str, filename: str = "x.rb", program_lang: str = "ruby", doc_type: str = "code"
) -> Document:
    return Document(content, filename=filename, program_lang=program_lang, doc_type=doc_type)


def test_lines_keep_their_newline_like_the_reference():
    s = compute_signals(_doc("[run]\nomit = requests/packages/*\n", ".coveragerc", "ini", "data"))
    assert s["qsc_code_num_lines"] == 2.0
    assert s["qsc_code_num_chars_line_max"] == 27.0  # "omit = requests/packages/*\n"
    assert s["qsc_code_num_chars_line_mean"] == 16.5
    assert s["qsc_code_num_words"] == 4  # normalized words: run omit requests packages
    assert split_lines("a\n\nb") == ("a\n", "\n", "b")


def test_every_general_signal_is_computed_for_code_and_data_only():
    code = compute_signals(_doc("puts 'hello'\n"))
    assert set(SIGNALS) <= set(code)
    assert compute_signals(_doc("hello", "a.bin", "unknown", "unknown")) == {}
    assert not any(
        k.startswith("qsc_code_") for k in compute_signals(_doc("# Title\n", "README.md", "markdown", "text"))
    )


def test_empty_document_gives_the_reference_null_cases():
    s = compute_signals(_doc(""))
    assert s["qsc_code_num_chars"] == 0.0
    assert s["qsc_code_mean_word_length"] is None
    assert s["qsc_code_frac_chars_comments"] is None
    assert s["qsc_code_frac_chars_digital"] == 1.0
    assert s["qsc_code_frac_chars_alphabet"] == 0.0
    assert s["qsc_code_frac_lines_dupe_lines"] is None
    assert s["qsc_code_num_chars_line_mean"] == 0


def test_autogen_fires_on_generate_anywhere_in_the_first_200_chars_only():
    assert (
        compute_signals(_doc("# The response generated from a Request\nx = 1\n"))["qsc_code_cate_autogen"]
        == 1.0
    )
    assert compute_signals(_doc("# DO NOT EDIT\n"))["qsc_code_cate_autogen"] == 1.0
    assert compute_signals(_doc("x = 1\n" * 40 + "# generated\n"))["qsc_code_cate_autogen"] == 0.0


def test_xml_start_looks_at_the_first_100_chars():
    assert (
        compute_signals(_doc('<?xml version="1.0"?><a/>', "a.xml", "xml", "data"))["qsc_code_cate_xml_start"]
        == 1.0
    )
    assert (
        compute_signals(_doc(" " * 100 + '<?xml version="1.0"?>', "a.xml", "xml", "data"))[
            "qsc_code_cate_xml_start"
        ]
        == 0.0
    )


def test_encoded_data_flags_a_long_base64_blob():
    blob = "QUJD" * 400  # 1600 chars of base64
    assert compute_signals(_doc(f"data = '{blob}'\n"))["qsc_code_cate_encoded_data"] == 1.0
    assert compute_signals(_doc("x = 1\ny = 2\n"))["qsc_code_cate_encoded_data"] == 0.0


def test_string_signals_use_the_reference_quote_regexes():
    s = compute_signals(_doc("a = \"hello world\"\nb = 'x' + 'y'\n"))
    # one-line strings: "hello world" (11) + x + y -> 13 chars of strings over the code text
    assert s["qsc_code_frac_chars_string_length"] == round(
        13 / len(_doc("a = \"hello world\"\nb = 'x' + 'y'\n").code_content), 8
    )
    assert s["qsc_code_frac_lines_string_concat"] == 0.5


def test_python_comment_text_is_docstrings_then_comments_without_hashes():
    src = 'def f():\n    """Doc."""\n    return 1  # one\n# two\n'
    assert python_comment_text(src) == "Doc.\n one two"
    assert python_comment_text("def f(:\n  # c\n") == ""  # tokenize error: no comments, as upstream
    s = compute_signals(_doc(src, "a.py", "python"))
    assert s["qsc_code_frac_chars_comments"] == round(len("Doc.\n one two") / len(src), 8)


def _reference_dupe(words, n):
    """RedPajama's definition, written plainly (the oracle for the pruned implementation)."""
    if len(words) < n:
        return 0.0
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    dupes = {g for g, c in Counter(grams).items() if c > 1}
    mask = [0] * len(words)
    for i, g in enumerate(grams):
        if g in dupes:
            for j in range(i, i + n):
                mask[j] = 1
    total = sum(map(len, words))
    return sum(len(w) * m for w, m in zip(words, mask, strict=True)) / total if total else 0.0


def _reference_top(words, n):
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    mc = Counter(grams).most_common(1)
    if not mc or mc[0][1] <= 1:
        return 0.0
    g, c = mc[0]
    return sum(map(len, g)) * c / sum(map(len, words))


@pytest.mark.parametrize("seed", range(30))
def test_pruned_ngram_repetition_equals_the_plain_definition(seed):
    rng = random.Random(seed)
    vocab = [
        rng.choice(["a", "bb", "ccc", "if", "x", "return", "self"]) + str(rng.randrange(3)) for _ in range(6)
    ]
    words = [rng.choice(vocab) for _ in range(rng.randrange(0, 120))]
    if seed % 3 == 0:
        words = words[:10] * 5 + words  # long exact repeats
    top, dupe = ngram_repetition(words, [len(w) for w in words])
    for n in (2, 3, 4):
        assert top[n] == pytest.approx(_reference_top(words, n), abs=1e-12)
    for n in range(5, 11):
        assert dupe[n] == pytest.approx(_reference_dupe(words, n), abs=1e-12)


def test_normalized_words_drop_punctuation_and_lowercase():
    d = _doc("Foo.Bar(x_1, ＹＹ)！ 'q'\n")
    assert d.normalized_words == ("foo", "bar", "x", "1", "yy", "q")
    assert d.words == ("Foo", ".", "Bar", "(", "x_1", ",", "ＹＹ", ")！", "'", "q", "'")


@pytest.mark.parametrize(
    "text",
    [
        "a\x1bb c",
        "x\x7fy z",
        "Foo_bar-baz 12.5",
        "\x00ab\x1ccd",
        "tab\tsep\x0bv\x0cf\rr",
        "wait… what",
        "ＡＢ！ｃ",
        "é, à",
    ],
)
def test_fast_word_split_equals_wordpunct_of_the_normalized_text(text):
    d = Document(text)
    assert d.normalized_words == tuple(WORDPUNCT_RE.findall(d.normalized_text))


def test_linear_string_concat_check_equals_the_reference_regex():
    import re

    from opc_data.signals.general_code import _has_string_concat

    reference = re.compile(r'\s*=\s*["\'].+?["\']\s*\+\s*["\'].+?["\'].*')
    rng = random.Random(7)
    for _ in range(50_000):
        line = "".join(rng.choice("= +'\"ab\t") for _ in range(rng.randrange(1, 14))) + rng.choice(["", "\n"])
        assert bool(reference.search(line)) == _has_string_concat(line), repr(line)
    # the reference regex is quadratic on long minified lines; the check is linear
    assert _has_string_concat("a='x';b=c+d;" * 20000 + "\n") is False
