"""Page readers on real pages: WARC (written here with warcio's writer), WET, JSONL, Parquet, archives.

Each test protects one reading property: text comes out of real HTML, a mislabelled charset is decoded
right, a 3 MB page is extracted, binary junk is quarantined (not extracted, not fatal), a malformed line
is quarantined by the stage reader and an error naming the line for the strict (classify) reader.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from opc_core.errors import OpcError
from opc_recall.extract import decode_html, extract_text
from opc_recall.pages import ReadOptions, read_file


def _warc(path, records) -> None:
    """records: (url, http content-type, body bytes) -> a gzipped WARC of response records."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as f:
        writer = WARCWriter(f, gzip=True)
        for url, ctype, body in records:
            http = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                                          http_headers=http))


def _html_pages(dev_pages, n):
    return [p for p in dev_pages if p.get("html")][:n]


def test_warc_response_records_yield_extracted_main_text(tmp_path, dev_pages):
    pages = _html_pages(dev_pages, 5)
    path = tmp_path / "crawl.warc.gz"
    _warc(path, [(p["url"], "text/html; charset=utf-8", p["html"].encode("utf-8")) for p in pages])
    got = list(read_file(str(path), ReadOptions()))
    assert [g["url"] for g in got] == [p["url"] for p in pages]
    assert all(g["error"] is None for g in got)
    for g, p in zip(got, pages, strict=True):
        assert g["text"] == extract_text(p["html"], p["url"])
        assert len(g["text"]) > 100
        assert g["id"].startswith("<urn:uuid:")


def test_wet_conversion_records_are_read_as_text(tmp_path, dev_pages):
    from warcio.warcwriter import WARCWriter

    pages = [p for p in dev_pages if not p.get("html")][:4]
    path = tmp_path / "crawl.warc.wet.gz"
    with open(path, "wb") as f:
        writer = WARCWriter(f, gzip=True)
        for p in pages:
            writer.write_record(writer.create_warc_record(p["url"], "conversion",
                                                          payload=io.BytesIO(p["text"].encode("utf-8"))))
    got = list(read_file(str(path), ReadOptions()))
    assert [(g["url"], g["text"]) for g in got] == [(p["url"], p["text"]) for p in pages]


def test_utf8_page_served_as_latin1_is_decoded_as_utf8(tmp_path):
    body = "<html><head><title>Café</title></head><body><p>Naïve résumé: the für loop — déjà vu.</p></body></html>"
    path = tmp_path / "mislabelled.warc.gz"
    _warc(path, [("https://example.de/a", "text/html; charset=ISO-8859-1", body.encode("utf-8"))])
    [got] = read_file(str(path), ReadOptions())
    assert got["error"] is None
    assert "déjà vu" in got["text"] and "Ã" not in got["text"]
    assert got["title"] == "Café"


def test_cp1252_page_labelled_utf8_falls_back_to_its_meta_charset():
    body = '<html><head><meta charset="windows-1252"></head><body><p>Gr\u00fc\u00dfe \u2014 \u201cquoted\u201d</p></body></html>'
    text, enc = decode_html(body.encode("cp1252"), "utf-8")
    assert "Grüße — “quoted”" in text and enc == "cp1252"


def test_three_megabyte_page_is_extracted(tmp_path, dev_pages):
    page = max(_html_pages(dev_pages, 400), key=lambda p: len(p["html"]))
    para = "<p>" + " ".join(page["text"].split()[:200]) + "</p>\n"
    html = "<html><head><title>big</title></head><body>" + para * (3_000_000 // len(para) + 1) + "</body></html>"
    assert len(html.encode()) > 3_000_000
    path = tmp_path / "big.warc.gz"
    _warc(path, [("https://example.org/big", "text/html", html.encode())])
    [got] = read_file(str(path), ReadOptions())
    assert got["error"] is None and got["bytes"] > 3_000_000 and len(got["text"]) > 100_000


def test_binary_junk_in_a_response_record_is_quarantined_and_reading_goes_on(tmp_path, dev_pages):
    import random

    junk = bytes(random.Random(5).randrange(256) for _ in range(20_000)) + b"\0" * 10
    good = _html_pages(dev_pages, 1)[0]
    path = tmp_path / "junk.warc.gz"
    _warc(path, [("https://example.org/img", "text/html", b"\0" + junk),
                 ("https://example.org/pdf", "application/pdf", junk),
                 (good["url"], "text/html", good["html"].encode())])
    got = list(read_file(str(path), ReadOptions()))
    assert [g["error"].split(":")[0] if g["error"] else None for g in got] == ["binary", "not_text", None]
    assert got[2]["text"]


def test_jsonl_and_parquet_pages_use_text_else_extract_html(tmp_path, dev_pages):
    html_page = _html_pages(dev_pages, 1)[0]
    rows = [{"id": "a", "url": "https://x.org/1", "text": "plain text page"},
            {"id": 7, "url": html_page["url"], "text": None, "html": html_page["html"]},
            {"url": "https://x.org/3", "text": ""}]
    jl = tmp_path / "pages.jsonl.gz"
    with gzip.open(jl, "wt") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    pq_path = tmp_path / "pages.parquet"
    pq.write_table(pa.Table.from_pylist([{"id": str(r["id"]) if "id" in r else None, "url": r["url"], "text": r["text"], "html": r.get("html")} for r in rows]), pq_path)
    for path in (jl, pq_path):
        got = list(read_file(str(path), ReadOptions()))
        assert [g["id"] for g in got] == ["a", "7", "2"]
        assert got[0]["text"] == "plain text page"
        assert got[1]["text"] == extract_text(html_page["html"], html_page["url"]) and got[1]["text"]
        assert got[2]["text"] == "" and got[2]["error"] is None


def test_malformed_jsonl_line_is_quarantined_or_an_error_naming_the_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"url": "https://a.org/", "text": "ok"}\n{not json\n')
    got = list(read_file(str(path), ReadOptions()))
    assert got[1]["error"].startswith("malformed_record") and ":2:" in got[1]["error"]
    with pytest.raises(OpcError, match="line 2"):
        list(read_file(str(path), ReadOptions(strict=True)))


def test_tar_archive_of_warc_files_is_read_member_by_member(tmp_path, dev_pages):
    pages = _html_pages(dev_pages, 3)
    w = tmp_path / "one.warc.gz"
    _warc(w, [(p["url"], "text/html", p["html"].encode()) for p in pages])
    arc = tmp_path / "crawl.tar.gz"
    with tarfile.open(arc, "w:gz") as tf:
        tf.add(w, arcname="seg/one.warc.gz")
    got = list(read_file(str(arc), ReadOptions()))
    assert [g["url"] for g in got] == [p["url"] for p in pages]
    assert got[0]["source"].endswith("!seg/one.warc.gz")


def test_s3_glob_of_warc_and_jsonl_reads_the_same_pages_as_local(tmp_path, dev_pages, s3_bucket):
    from opc_core import storage
    from opc_recall.ingest import plan_units, read_unit

    pages = _html_pages(dev_pages, 3)
    _warc(tmp_path / "a.warc.gz", [(p["url"], "text/html", p["html"].encode()) for p in pages])
    (tmp_path / "b.jsonl").write_text("".join(json.dumps({"url": p["url"], "text": p["text"]}) + "\n"
                                              for p in dev_pages[:2]))
    for name in ("a.warc.gz", "b.jsonl"):
        storage.write_bytes_atomic(f"{s3_bucket}/pool/{name}", (tmp_path / name).read_bytes())

    def read(sources):
        return [(r["url"], r["text"]) for u in plan_units(sources) for r in read_unit(u, ReadOptions())]

    remote = read([f"{s3_bucket}/pool/*"])
    assert remote == read([str(tmp_path / "a.warc.gz"), str(tmp_path / "b.jsonl")])
    assert len(remote) == 5
