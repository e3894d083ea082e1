"""Lineage: follow manifests from any output back to the raw inputs.

    release 3f2a… ─▶ eval 91c0… ─▶ pretrain 77d1… ─▶ tokenize 0b9e… ─▶ data 5e44… ─▶ raw sources

Outputs form a DAG (eval and release both read pretrain, tokenize and data): ``format_lineage`` prints
each once; ``lineage_chain`` lists every path (the model card dedupes what it shows).
"""

from __future__ import annotations

from opc_core import storage
from opc_core.errors import OpcError
from opc_core.manifest import Manifest, read_manifest, try_read_manifest
from opc_core.workdir import list_outputs


def find_output(ref: str, workdir: str) -> Manifest:
    """``ref`` is an output URI, a path inside one, a key, or a stage name (its newest complete output)."""
    candidate = storage.normalize(ref) if ("/" in ref or ref.startswith(".")) else None
    while candidate:
        m = try_read_manifest(candidate)
        if m is not None:
            return m
        parent = candidate.rsplit("/", 1)[0]
        if parent == candidate or not parent or parent.endswith(":/"):
            break
        candidate = parent
    complete = [e for e in list_outputs(workdir) if e.complete]
    by_key = [e for e in complete if e.key.startswith(ref)]
    if len(by_key) == 1:
        return by_key[0].manifest  # type: ignore[return-value]
    by_stage = sorted((e for e in complete if e.stage == ref), key=lambda e: e.created or "")
    if by_stage:
        return by_stage[-1].manifest  # type: ignore[return-value]
    raise OpcError(f"no complete output matches {ref!r}", where=workdir, hint="see `opc status` for what exists")


def version_chain(manifest: Manifest) -> list[Manifest]:
    """``manifest`` and every earlier version it extends (its ``previous`` input, that one's, ...), newest first.

    An incremental data output holds only the new records: a consumer that wants the whole corpus (SFT
    conversations built from the kept code) reads every output of the chain."""
    from opc_core.stage import PREVIOUS_ROLE

    chain = [manifest]
    seen = {manifest.uri}
    while PREVIOUS_ROLE in chain[-1].inputs:
        uri = chain[-1].inputs[PREVIOUS_ROLE].uri
        if uri in seen:
            raise OpcError("the outputs' previous inputs form a cycle", where=uri)
        seen.add(uri)
        chain.append(read_manifest(uri))
    return chain


def lineage_chain(manifest: Manifest) -> list[tuple[int, str, Manifest | None, str]]:
    """Depth-first (depth, role, manifest, uri) rows, from ``manifest`` down to the raw sources."""
    rows: list[tuple[int, str, Manifest | None, str]] = []

    def visit(m: Manifest, role: str, depth: int) -> None:
        rows.append((depth, role, m, m.uri))
        for sub_role, ref in m.inputs.items():
            try:
                visit(read_manifest(ref.uri), sub_role, depth + 1)
            except OpcError:
                rows.append((depth + 1, sub_role, None, ref.uri))
        for source in m.sources:
            rows.append((depth + 1, "source", None, source))

    visit(manifest, manifest.stage, 0)
    return rows


def format_lineage(manifest: Manifest) -> str:
    """The lineage as a DAG: each output (and raw source) is printed once; a second path to it shows a
    one-line back-reference (``→ data b2c73e75… above``) instead of repeating its whole subtree."""
    lines: list[str] = []
    shown: set[tuple[str, str]] = set()
    sources: set[str] = set()

    def visit(m: Manifest, depth: int) -> None:
        pad = "  " * depth + ("└─ " if depth else "")
        if (m.stage, m.key) in shown:
            lines.append(f"{pad}→ {m.stage} {m.key[:8]}… above")
            return
        shown.add((m.stage, m.key))
        counts = f"  in={m.counts.records_in} kept={m.counts.kept}" if m.counts else ""
        lines.append(f"{pad}{m.stage} {m.key}  fp={m.fingerprint[:12]}  {m.created}{counts}  {m.uri}")
        child_pad = "  " * (depth + 1) + "└─ "
        for role, ref in m.inputs.items():
            try:
                visit(read_manifest(ref.uri), depth + 1)
            except OpcError:
                lines.append(f"{child_pad}{role}: MISSING manifest at {ref.uri}")
        for source in m.sources:
            if source not in sources:
                sources.add(source)
                lines.append(f"{child_pad}raw source  {source}")

    visit(manifest, 0)
    return "\n".join(lines)
