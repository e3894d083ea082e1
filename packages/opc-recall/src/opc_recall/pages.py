"""Web page readers: WARC, WET, JSONL and Parquet -> page records, streaming, local, archives or s3://.

    WARC  (warcio; response records, HTML decoded by declared/sniffed charset, then extracted)
    WET   (warcio; conversion records: text already extracted)          ─▶ page record (dict):
    JSONL (.jsonl[.gz]: url + text, or url + html; FineWeb / dolma)          id, url, title, text, source,
    Parquet (same columns)                                                   bytes, error (None = readable)
    .tar[.gz] / .zip of any of the above (members streamed)

A page that cannot be used carries ``error`` (binary body, undecodable, oversize, not HTML, malformed
line); the stage quarantines it with that error, so in = recalled + rejected + quarantined. File-level
damage (missing file, corrupt gzip) is an ``OpcError`` naming the file. ``strict=True`` (the ``classify``
command) turns a malformed JSONL line into an error naming the line.

What it does NOT do: decide anything about the text (``classifier.py``), or deduplicate.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from opc_core import storage
from opc_core.errors import OpcError
from opc_recall.extract import BinaryPage, Extractor, charset_of, decode_html, extract_text, title_of

PAGE_FIELDS = ("id", "url", "title", "text", "source", "bytes", "error")
WARC_SUFFIXES = (".warc", ".warc.gz", ".arc.gz")
WET_SUFFIXES = (".wet", ".wet.gz", ".warc.wet.gz")
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".json.gz", ".ndjson", ".ndjson.gz")
PARQUET_SUFFIXES = (".parquet",)
ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".zip")


@dataclass(frozen=True)
class ReadOptions:
    extractor: Extractor = "resiliparse"
    max_page_bytes: int = 8 << 20
    strict: bool = False


def page(*, id: str, url: str | None, title: str | None, text: str, source: str, size: int,
         error: str | None = None) -> dict[str, Any]:
    return {"id": id, "url": url or "", "title": title, "text": text, "source": source, "bytes": int(size),
            "error": error}


def format_of(name: str) -> str | None:
    low = name.lower()
    for fmt, suffixes in (("wet", WET_SUFFIXES), ("warc", WARC_SUFFIXES), ("jsonl", JSONL_SUFFIXES),
                          ("parquet", PARQUET_SUFFIXES), ("archive", ARCHIVE_SUFFIXES)):
        if low.endswith(suffixes):
            return fmt
    return None


def html_page(body: bytes, *, id: str, url: str | None, source: str, content_type: str | None,
              opts: ReadOptions) -> dict[str, Any]:
    """One HTTP body -> a page record (text extracted), or one carrying the reason it is unusable."""
    if len(body) > opts.max_page_bytes:
        return page(id=id, url=url, title=None, text="", source=source, size=len(body),
                    error=f"oversize: {len(body)} bytes > max_page_bytes {opts.max_page_bytes}")
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype and not (ctype.startswith("text/") or "html" in ctype or "xml" in ctype):
        return page(id=id, url=url, title=None, text="", source=source, size=len(body),
                    error=f"not_text: content type {ctype}")
    try:
        html, _ = decode_html(body, charset_of(content_type))
    except BinaryPage as exc:
        return page(id=id, url=url, title=None, text="", source=source, size=len(body), error=str(exc))
    return page(id=id, url=url, title=title_of(html), text=extract_text(html, url, opts.extractor), source=source,
                size=len(body))


def read_warc(f: BinaryIO, where: str, opts: ReadOptions, wet: bool = False) -> Iterator[dict[str, Any]]:
    """Response (WARC) or conversion (WET) records in file order; other record types are not pages."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    n = 0
    try:
        for rec in ArchiveIterator(f, arc2warc=True):
            if rec.rec_type not in ("response", "conversion", "resource"):
                continue
            url = rec.rec_headers.get_header("WARC-Target-URI")
            rid = rec.rec_headers.get_header("WARC-Record-ID") or f"{where}#{n}"
            n += 1
            body = rec.content_stream().read()
            if rec.rec_type == "conversion" or wet:
                text, enc = body, "utf-8"
                try:
                    s = text.decode(enc)
                    yield page(id=rid, url=url, title=None, text=s, source=where, size=len(body))
                except UnicodeDecodeError as exc:
                    yield page(id=rid, url=url, title=None, text="", source=where, size=len(body),
                               error=f"undecodable: {exc}")
                continue
            ctype = rec.http_headers.get_header("Content-Type") if rec.http_headers else \
                rec.rec_headers.get_header("Content-Type")
            yield html_page(body, id=rid, url=url, source=where, content_type=ctype, opts=opts)
    except (ArchiveLoadFailed, zlib.error, EOFError, OSError) as exc:
        raise OpcError(f"corrupt or truncated WARC after {n} records: {exc}", where=where,
                       hint="re-download the file; records before the damage were read") from exc


def _page_from_obj(obj: Any, where: str, source: str, fallback_id: str, opts: ReadOptions) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    url = obj.get("url") or meta.get("url")
    if url is not None and not isinstance(url, str):
        raise ValueError("url must be a string")
    rid = obj.get("id")
    rid = str(rid) if rid is not None else fallback_id
    text, html = obj.get("text"), obj.get("html")
    if text is not None and not isinstance(text, str) or html is not None and not isinstance(html, str):
        raise ValueError("text/html must be strings")
    title = obj.get("title") if isinstance(obj.get("title"), str) else None
    if text and text.strip():
        return page(id=rid, url=url, title=title, text=text, source=source, size=len(text.encode("utf-8", "replace")))
    if html:
        rec = html_page(html.encode("utf-8", "surrogatepass"), id=rid, url=url, source=source,
                        content_type="text/html; charset=utf-8", opts=opts)
        rec["title"] = title or rec["title"]
        return rec
    return page(id=rid, url=url, title=title, text="", source=source, size=0)


def read_jsonl(f: BinaryIO, where: str, opts: ReadOptions) -> Iterator[dict[str, Any]]:
    """One page per non-blank line; ids default to the 0-based line number."""
    stream = gzip.GzipFile(fileobj=f) if where.lower().endswith(".gz") else f
    lineno = -1
    try:
        for lineno, line in enumerate(stream):
            if not line.strip():
                continue
            try:
                yield _page_from_obj(json.loads(line), f"{where}:{lineno + 1}", where, str(lineno), opts)
            except (ValueError, UnicodeDecodeError) as exc:
                if opts.strict:
                    raise OpcError(f"line {lineno + 1} is not a page record: {exc}", where=where,
                                   hint="each line must be a JSON object with url and text and/or html") from exc
                yield page(id=str(lineno), url=None, title=None, text="", source=where, size=len(line),
                           error=f"malformed_record: {where}:{lineno + 1}: {str(exc)[:200]}")
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise OpcError(f"truncated or corrupt gzip after line {lineno + 1}: {exc}", where=where,
                       hint="re-create the file") from exc


def read_parquet(f: BinaryIO, where: str, opts: ReadOptions) -> Iterator[dict[str, Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(f)
        names = pf.schema_arrow.names
        if "text" not in names and "html" not in names:
            raise OpcError("Parquet pages need a text or html column", where=where, hint="columns: url, text|html")
        cols = [c for c in ("id", "url", "title", "text", "html", "metadata") if c in names]
        row = 0
        for batch in pf.iter_batches(batch_size=512, columns=cols):
            for obj in batch.to_pylist():
                yield _page_from_obj(obj, f"{where}:row {row}", where, str(row), opts)
                row += 1
    except (pa.ArrowInvalid, OSError) as exc:
        raise OpcError(f"unreadable Parquet file: {exc}", where=where, hint="re-create the file") from exc


def read_stream(f: BinaryIO, where: str, fmt: str, opts: ReadOptions) -> Iterator[dict[str, Any]]:
    if fmt in ("warc", "wet"):
        return read_warc(f, where, opts, wet=fmt == "wet")
    if fmt == "jsonl":
        return read_jsonl(f, where, opts)
    if fmt == "parquet":
        return read_parquet(f, where, opts)
    raise OpcError(f"unknown page format {fmt!r}", where=where)


def read_archive(uri: str, opts: ReadOptions) -> Iterator[dict[str, Any]]:
    """Members of a tar/zip that are WARC/WET/JSONL/Parquet, in member order (others are skipped)."""
    fs, path = storage.filesystem(uri)
    with fs.open(path, "rb") as raw:
        if uri.lower().endswith(".zip"):
            data = io.BytesIO(raw.read())
            with zipfile.ZipFile(data) as zf:
                for info in zf.infolist():
                    fmt = format_of(info.filename)
                    if info.is_dir() or fmt in (None, "archive"):
                        continue
                    with zf.open(info) as member:
                        yield from read_stream(io.BytesIO(member.read()), f"{uri}!{info.filename}", fmt, opts)
            return
        try:
            with tarfile.open(fileobj=raw, mode="r|*") as tf:
                for member in tf:
                    fmt = format_of(member.name)
                    if not member.isfile() or fmt in (None, "archive"):
                        continue
                    fobj = tf.extractfile(member)
                    if fobj is not None:
                        yield from read_stream(io.BytesIO(fobj.read()), f"{uri}!{member.name}", fmt, opts)
        except (tarfile.TarError, EOFError, zlib.error) as exc:
            raise OpcError(f"corrupt or truncated archive: {exc}", where=uri, hint="re-create the archive") from exc


def read_file(uri: str, opts: ReadOptions, fmt: str | None = None) -> Iterator[dict[str, Any]]:
    """Every page of one file (local or s3://), streamed."""
    fmt = fmt or format_of(uri)
    if fmt is None:
        raise OpcError("cannot tell the page format of this file", where=uri,
                       hint="name it .warc[.gz], .wet[.gz], .jsonl[.gz], .parquet, .tar[.gz] or .zip")
    if fmt == "archive":
        yield from read_archive(uri, opts)
        return
    fs, path = storage.filesystem(uri)
    try:
        f = fs.open(path, "rb")
    except (OSError, ValueError) as exc:
        raise OpcError(f"cannot open: {exc}", where=uri, hint="check the path and your credentials") from exc
    with f:
        yield from read_stream(f, uri, fmt, opts)


def read_labelled(uri: str, opts: ReadOptions) -> list[dict[str, Any]]:
    """A labelled JSONL(.gz) (``code_related`` 0/1 per line) -> page records with ``label``; errors name the line."""
    fs, path = storage.filesystem(uri)
    if not fs.exists(path):
        raise OpcError("labels file not found", where=uri, hint="give a JSONL(.gz) with url, text/html, code_related")
    out = []
    with fs.open(path, "rb") as raw:
        stream = gzip.GzipFile(fileobj=raw) if uri.lower().endswith(".gz") else raw
        for lineno, line in enumerate(stream):
            if not line.strip():
                continue
            where = f"{uri}:{lineno + 1}"
            try:
                obj = json.loads(line)
                rec = _page_from_obj(obj, where, uri, str(lineno), opts)
                label = obj.get("code_related")
                if label in (True, False) or label in (0, 1) or label in ("0", "1"):
                    rec["label"] = int(label)
                else:
                    raise ValueError(f"code_related must be 0 or 1, got {label!r}")
            except (ValueError, UnicodeDecodeError) as exc:
                raise OpcError(f"line {lineno + 1} is not a labelled page: {exc}", where=uri,
                               hint="each line: a JSON object with url, text and/or html, code_related 0/1") from exc
            out.append(rec)
    return out
