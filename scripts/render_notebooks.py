"""Execute the notebooks against a workdir's latest run and write executed copies plus HTML renderings.

    .venv/bin/python scripts/render_notebooks.py [--workdir work] [--out work/notebooks]   # what `make notebooks` runs

Each notebook opens the latest run in ``--workdir`` (``OPC_NOTEBOOK_WORKDIR``; default ./work, where
``make reproduce`` writes), so after ``make reproduce`` a reader gets ``work/notebooks/<name>.html`` with every
table and plot in it, without running anything. The tests run this same script on a micro run.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def render(notebooks: list[Path], workdir: Path, out: Path, timeout: int = 600) -> list[Path]:
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    os.environ["OPC_NOTEBOOK_WORKDIR"] = str(workdir.resolve())
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks:
        book = nbformat.read(path, as_version=4)
        NotebookClient(book, kernel_name="python3", timeout=timeout,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        nbformat.write(book, out / path.name)
        html, _ = HTMLExporter(template_name="lab").from_notebook_node(book)
        (out / path.with_suffix(".html").name).write_text(html, encoding="utf-8")
        written.append(out / path.with_suffix(".html").name)
        print(f"{path.name} -> {written[-1]}", flush=True)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=REPO / "work")
    parser.add_argument("--out", type=Path, default=None, help="default: <workdir>/notebooks")
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebooks/*.ipynb")
    args = parser.parse_args(argv)
    books = args.notebooks or sorted((REPO / "notebooks").glob("*.ipynb"))
    render(books, args.workdir, args.out or args.workdir / "notebooks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
