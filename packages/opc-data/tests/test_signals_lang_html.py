"""HTML signals equal the reference's BeautifulSoup-based values on the dev corpus.

Agreement floor: 1.0 for every signal: we drive the same stdlib ``html.parser`` tokenizer with
BeautifulSoup's tree-builder rules. The crafted expectations below are BeautifulSoup 4.12.3's
``get_text()`` (html.parser) on each input.
"""

from __future__ import annotations

from typing import Any

import pytest

from opc_data.document import Document
from opc_data.signals import lang_html

FLOORS = dict.fromkeys(lang_html.SIGNALS, 1.0)


AGREEMENT = {"langs": {"html"}, "compute": lang_html.compute, "floors": FLOORS, "min_files": 80}


@pytest.mark.parametrize("signal", sorted(FLOORS))
def test_signal_agrees_with_reference_on_dev(signal_agreement: Any, signal: str) -> None:
    signal_agreement.assert_agrees(signal)


def test_every_reference_signal_is_computed(signal_agreement: Any) -> None:
    assert set(signal_agreement.counts) == set(FLOORS)


BS4_GET_TEXT = [
    ("<pre>  \n </pre><p> </p>x&amp;y&foo;z&#150;&#x41;&#0;<br></br>q", "  \n  x&y&fooz\u2013A\x00q"),
    ("<template><p>hi</p></template>after", "after"),
    ('<script>var a="<b>";</script>t<style>p{}</style>u', "tu"),
    ("<![CDATA[cdata text]]>v<!-- c -->w<!DOCTYPE html><?pi?>", "cdata textvw"),
    ("<div><p>a<span>b</div>c</span>d", "abcd"),
    ("<br>x<br/>y<p>z</p>", "xyz"),
    ("<rt>r</rt><rp>p</rp>k", "k"),
    ("<textarea>\n\n</textarea>", "\n\n"),
    ("&#9999999999;", "\ufffd"),
    ('<a href="x>y">l</a>', "l"),
    ("<table><tr><td>1<td>2</table>", "12"),
    ("plain\r\ntext", "plain\r\ntext"),
    ("<p>unclosed <b>bold", "unclosed bold"),
]


@pytest.mark.parametrize(("markup", "text"), BS4_GET_TEXT)
def test_visible_text_equals_beautifulsoup_get_text(markup: str, text: str) -> None:
    assert lang_html.visible_text(markup) == text


def test_signals_from_visible_text() -> None:
    src = "<html><body><p>Hello world</p><script>var x;</script></body></html>"
    out = lang_html.compute(Document(src, filename="i.html", program_lang="html", doc_type="code"))
    assert out["qsc_codehtml_cate_ast"] == 1.0
    assert out["qsc_codehtml_num_chars_text"] == 11.0
    assert out["qsc_codehtml_frac_words_text"] == round(11 / len(src), 8)


def test_markup_the_parser_rejects_has_no_tree() -> None:
    # BeautifulSoup raises ParserRejectedMarkup on this unknown marked section (stdlib AssertionError)
    out = lang_html.compute(Document("<![foo bar]>x", filename="i.html", program_lang="html", doc_type="code"))
    assert out == {"qsc_codehtml_cate_ast": 0.0, "qsc_codehtml_frac_words_text": None,
                   "qsc_codehtml_num_chars_text": None}
