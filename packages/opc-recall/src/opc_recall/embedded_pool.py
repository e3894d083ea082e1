"""The embedded pool: real text the virtualenv ships, so ``make reproduce`` recalls offline.

    kind: embedded, parts: [metadata, pydoc_topics, site_html, licenses]
      metadata      every installed distribution's long description (its README, from METADATA),
                    at the project's documentation / home-page URL
      pydoc_topics  the Python reference topics of ``pydoc_data`` (docs.python.org/3/reference/...)
      site_html     the few .html / .rst files installed in site-packages (templates, docs)
      licenses      licence texts of the distributions (LICENSE / COPYING in dist-info): negatives

Pages get the URLs a crawler would have met (a distribution's Documentation / Homepage URL), so the
per-domain statistics and URL patterns have real hosts to work on. Order is deterministic (sorted by
distribution and file); the fingerprint is the sorted (name, version) list plus the Python version.

What it does NOT do: read the network, or read outside the running interpreter's installation.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from opc_recall.extract import extract_text, title_of
from opc_recall.pages import page

Part = Literal["metadata", "pydoc_topics", "site_html", "licenses"]
PARTS: tuple[str, ...] = ("metadata", "pydoc_topics", "site_html", "licenses")
_LICENSE = re.compile(r"(licen[cs]e|copying)", re.I)


def _site_dirs() -> list[str]:
    """The environment's own site-packages: the pool is what the venv installs, whatever a process has added to
    sys.path since (a test's temp folder, a notebook's extra path), so the same venv gives the same pool."""
    import sysconfig

    paths = sysconfig.get_paths()
    return sorted({paths["purelib"], paths["platlib"]})


def _dists() -> list[md.Distribution]:
    """The ``*.dist-info`` folders of the site dirs, read directly: no sys.meta_path finder a library may have
    registered in this process can add or hide one."""
    seen: dict[str, md.Distribution] = {}
    found = sorted(p for site in _site_dirs() for p in Path(site).glob("*.dist-info") if p.is_dir())
    for d in (md.PathDistribution(p) for p in found):
        name = re.sub(r"[-_.]+", "-", (d.metadata.get("Name") or "")).lower()
        if name and name not in seen:
            seen[name] = d
    return [seen[n] for n in sorted(seen)]


def _name(d: md.Distribution) -> str:
    return re.sub(r"[-_.]+", "-", d.metadata.get("Name") or "").lower()


def project_url(d: md.Distribution) -> str:
    """Documentation URL, else Homepage / Source / Home-page, else the PyPI page."""
    urls: dict[str, str] = {}
    for entry in d.metadata.get_all("Project-URL") or []:
        label, _, url = entry.partition(",")
        urls[label.strip().lower()] = url.strip()
    for key in ("documentation", "docs", "homepage", "home", "source", "repository", "source code"):
        if urls.get(key, "").startswith("http"):
            return urls[key].rstrip("/") + "/"
    home = d.metadata.get("Home-page") or ""
    if home.startswith("http"):
        return home.rstrip("/") + "/"
    return f"https://pypi.org/project/{_name(d)}/"


def read_part(part: str) -> Iterator[dict[str, Any]]:
    source = f"embedded:{part}"
    if part == "metadata":
        for d in _dists():
            body = d.metadata.get_payload() or d.metadata.get("Description") or ""
            if body.strip():
                yield page(id=f"metadata:{_name(d)}", url=project_url(d), title=d.metadata.get("Summary"),
                           text=body, source=source, size=len(body.encode("utf-8", "replace")))
    elif part == "pydoc_topics":
        from pydoc_data.topics import topics

        for name in sorted(topics):
            text = topics[name]
            yield page(id=f"pydoc:{name}", url=f"https://docs.python.org/3/reference/{name.lower()}.html",
                       title=name, text=text, source=source, size=len(text.encode("utf-8", "replace")))
    elif part in ("site_html", "licenses"):
        for d in _dists():
            base = project_url(d)
            for f in sorted(d.files or [], key=str):
                rel = str(f)
                low = rel.lower()
                is_license = ".dist-info/" in low and bool(_LICENSE.search(low.rsplit("/", 1)[-1]))
                is_doc = low.endswith((".html", ".htm", ".rst")) and ".dist-info/" not in low
                if (part == "licenses") != is_license or (part == "site_html" and not is_doc):
                    continue
                try:
                    data = f.locate().read_bytes()
                except OSError:
                    continue
                text = data.decode("utf-8", "replace")
                leaf = rel.rsplit("/", 1)[-1]
                if low.endswith((".html", ".htm")):
                    title, text = title_of(text), extract_text(text)
                else:
                    title = leaf
                sub = "license" if part == "licenses" else "files"
                yield page(id=f"{part}:{_name(d)}:{rel}", url=f"{base}{sub}/{leaf}", title=title, text=text,
                           source=source, size=len(data))
    else:
        raise ValueError(f"unknown embedded part {part!r}; one of {PARTS}")


def fingerprint(parts: list[str]) -> str:
    h = hashlib.sha256(f"{sys.version_info[:3]}\t{sorted(parts)}\n".encode())
    for d in _dists():
        h.update(f"{_name(d)}=={d.version}\n".encode())
    return h.hexdigest()
