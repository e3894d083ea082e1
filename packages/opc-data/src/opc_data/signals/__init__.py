"""Quality signals: ``compute_signals(record_or_document) -> {signal name: value}``.

    raw record ──▶ langid ──▶ Document ──▶ general_code / lang_<x> / text ──▶ signal columns ──▶ rules

Which families a document gets is the reference's ``ComputeCodeQualitySignal.compute_qs``:

* ``code`` and ``data`` documents: the 33 general code signals (``general_code.py``), then the
  language-specific signals of its ``program_lang`` when there is a module for it
  (python, c, cpp, csharp, go, html, java, javascript; ``lang_<x>.py``, each exposing
  ``compute(doc: Document) -> dict``; c and cpp share ``lang_c.py``);
* ``text`` documents: the natural-language signals (``text.py``);
* ``unknown`` / ``excluded`` documents: nothing (they are dropped without signals).

Go and C# documents also get ``qsc_codego_cate_var_zero_corrected`` / ``qsc_codecsharp_cate_var_zero_corrected``
(the intended value of the reference's always-0 signal), read only by the corrected-rules option.

Values are floats, ints or None (undefined for this document, e.g. a ratio over zero lines); names are
the reference's. A language module that raises is reported in ``errors`` and its signals are missing
(the filter then skips their rules, as the reference does when a signal group fails).

What it does NOT do: decide (``opc_data.rules``), read records (``opc_data.ingest``).
"""

from __future__ import annotations

import importlib
import logging
from types import ModuleType
from typing import Any

from opc_data.document import Document
from opc_data.rules import CORRECTED_SIGNALS
from opc_data.signals import general_code, text

__all__ = ["compute_signals", "compute_signals_with_errors", "LANG_MODULES", "as_document"]

log = logging.getLogger(__name__)

# program_lang -> module name (inside opc_data.signals) holding its language-specific signals
LANG_MODULES: dict[str, str] = {
    "python": "lang_python",
    "c": "lang_c",
    "cpp": "lang_c",
    "csharp": "lang_csharp",
    "go": "lang_go",
    "html": "lang_html",
    "java": "lang_java",
    "javascript": "lang_javascript",
}

# Reference signals that are always 0 by a bug (list compared with 0); their modules compute the
# intended value with ``compute(doc, corrected=True)``, stored as ``<name>_corrected``.
_CORRECTABLE: dict[str, str] = {"go": "qsc_codego_cate_var_zero", "csharp": "qsc_codecsharp_cate_var_zero"}

_loaded: dict[str, ModuleType | None] = {}


def _lang_module(program_lang: str) -> ModuleType | None:
    name = LANG_MODULES.get(program_lang)
    if name is None:
        return None
    if name not in _loaded:
        # no fallback: a language module that fails to import must stop the run, not silently drop that
        # language's rules and change keep/drop decisions
        _loaded[name] = importlib.import_module(f"opc_data.signals.{name}")
    return _loaded[name]


def as_document(record_or_document: Document | dict[str, Any], *, lang: str = "en") -> Document:
    """A ``Document`` from a record (identifying its language from the path when the record does not
    carry ``program_lang``/``doc_type``) or the document itself."""
    if isinstance(record_or_document, Document):
        return record_or_document
    rec = record_or_document
    if not rec.get("program_lang") or not rec.get("doc_type"):
        from opc_data.langid import identify  # noqa: PLC0415

        pl, dt = identify(rec.get("path") or "")
        rec = {**rec, "program_lang": pl, "doc_type": dt}
    return Document.from_record(rec, lang=lang)


def compute_signals_with_errors(
    record_or_document: Document | dict[str, Any], *, lang: str = "en"
) -> tuple[dict[str, Any], dict[str, str]]:
    """(signals, errors): errors maps a family (``general_code``, ``lang_python``, ``text``) to a message."""
    doc = as_document(record_or_document, lang=lang)
    out: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if doc.doc_type in ("code", "data"):
        try:
            out.update(general_code.compute(doc))
        except Exception as e:  # noqa: BLE001  (a record must never stop the run)
            errors["general_code"] = f"{type(e).__name__}: {e}"
        mod = _lang_module(doc.program_lang)
        if mod is not None:
            try:
                out.update(mod.compute(doc))
                fixable = _CORRECTABLE.get(doc.program_lang)
                if fixable is not None:  # also store the corrected value (a column; the rule option reads it)
                    out[CORRECTED_SIGNALS[fixable]] = mod.compute(doc, corrected=True)[fixable]
            except Exception as e:  # noqa: BLE001
                errors[LANG_MODULES[doc.program_lang]] = f"{type(e).__name__}: {e}"
    elif doc.doc_type == "text":
        try:
            out.update(text.compute(doc))
        except Exception as e:  # noqa: BLE001
            errors["text"] = f"{type(e).__name__}: {e}"
    return out, errors


def compute_signals(record_or_document: Document | dict[str, Any], *, lang: str = "en") -> dict[str, Any]:
    """Every signal the reference computes for this document's table (see the module docstring)."""
    return compute_signals_with_errors(record_or_document, lang=lang)[0]
