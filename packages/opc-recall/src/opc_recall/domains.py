"""Registered domains and URL path prefixes: the units recall counts, splits and annotates by.

    https://docs.python.org/3/library/os.html ──▶ registered domain "python.org"   (eTLD+1, offline PSL)
                                              └─▶ path prefixes "/3/", "/3/library/"

The registered domain comes from the Public Suffix List snapshot that ``tldextract`` ships (private
suffixes included, so ``x.github.io`` is its own domain): no network fetch, ever (``suffix_list_urls=()``
and no cache directory). It is the unit of the domain-grouped cross-validation and of the per-domain
recall statistics (a domain where more than 10% of pages are recalled is code-related).

What it does NOT do: normalise or canonicalise URLs beyond lower-casing the host.
"""

from __future__ import annotations

from functools import cache
from urllib.parse import urlsplit


@cache
def _extractor():
    import tldextract

    return tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True,
                                 include_psl_private_domains=True)


def host_of(url: str | None) -> str:
    try:
        return (urlsplit(url or "").hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


def registered_domain(url: str | None) -> str:
    """eTLD+1 of the URL's host (``""`` when there is no host); an IP address is its own domain."""
    host = host_of(url)
    if not host:
        return ""
    ext = _extractor()(host)
    if ext.domain and ext.suffix:
        return f"{ext.domain}.{ext.suffix}"
    return host


def path_prefixes(url: str | None, max_depth: int = 2) -> list[str]:
    """The first ``max_depth`` directory prefixes of the URL path: ``/a/b/c.html`` -> ``/a/``, ``/a/b/``.

    Only directories count (a final segment is a page, not a pattern); segments that are all digits
    stay as they are (``/questions/123/`` is a prefix of one question page only and rarely concentrates).
    """
    try:
        path = urlsplit(url or "").path or "/"
    except ValueError:
        return []
    parts = [p for p in path.split("/")]
    dirs = parts[1:-1]  # between the leading "" and the last segment
    out = []
    prefix = "/"
    for seg in dirs[:max_depth]:
        if not seg:
            break
        prefix += seg.lower() + "/"
        out.append(prefix)
    return out
