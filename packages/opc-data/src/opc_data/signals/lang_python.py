"""Python-specific quality signals (``qsc_codepython_*``), the reference's definitions.

    Document ──▶ ast.parse(content) (cached in doc.cache) ──┬─▶ counts of FunctionDef / ClassDef / ...
                 doc.code_lines (comment-free, non-blank) ──┴─▶ ratios per code line

The reference parses with the running interpreter's ``ast`` (``qsc_codepython_cate_ast``), so that is
what we do too: Python 3.11 here and in the reference run. Its AST visitors are replaced by iterative
walks with the same counting rules (so deeply nested files cannot hit the recursion limit):
``FunctionDef`` only (not ``async def``); variables = ``Assign`` to a bare name, ``for NAME in``, or a
``def`` with positional parameters; class members = direct ``Assign``/``AnnAssign`` to bare names in a
class body, for classes that are not nested (at any depth) in another class (the reference's visitor
does not descend into class bodies). Lines are the comment-free non-blank lines (``doc.code_lines``;
comments and "docstrings" as Pygments classifies them, see ``opc_data.lexing``).

What it does NOT do: general code signals (``general_code``), keep/drop (the rules).
"""

from __future__ import annotations

import ast
import re
import warnings
from typing import Any

from opc_data.document import Document

__all__ = ["compute", "SIGNALS", "parse"]

PRECISION = 8

SIGNALS = (
    "qsc_codepython_cate_ast",
    "qsc_codepython_frac_lines_func_ratio",
    "qsc_codepython_cate_var_zero",
    "qsc_codepython_frac_lines_pass",
    "qsc_codepython_frac_lines_import",
    "qsc_codepython_frac_lines_simplefunc",
    "qsc_codepython_score_lines_no_logic",
    "qsc_codepython_frac_lines_print",
)

_SIMPLE_RETURN = re.compile(r"^\s*return(\s+.+)?\s*$", re.MULTILINE)


def parse(doc: Document) -> ast.Module | None:
    """``ast.parse`` of the raw content, cached per document; None if it does not parse."""
    if "python_ast" not in doc.cache:
        try:
            with warnings.catch_warnings():  # invalid escape sequences etc. are the file's business
                warnings.simplefilter("ignore")
                tree: ast.Module | None = ast.parse(doc.content)
        except Exception:  # noqa: BLE001  (the reference treats any parse failure as "no AST")
            tree = None
        doc.cache["python_ast"] = tree
    return doc.cache["python_ast"]


def _statements(tree: ast.Module) -> list[ast.stmt]:
    """Every statement of the module, at any depth. Function, class, assignment and ``for`` nodes are
    statements and statements never occur inside expressions, so walking statement lists only visits
    every node the reference's visitors count, at a fraction of a full ``ast.walk``."""
    out: list[ast.stmt] = []
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        node = stack.pop()
        out.append(node)
        for attr in ("body", "orelse", "finalbody"):
            sub = getattr(node, attr, None)
            if type(sub) is list:
                stack.extend(sub)
        for handler in getattr(node, "handlers", ()):  # try / try*
            stack.extend(handler.body)
        for case in getattr(node, "cases", ()):  # match
            stack.extend(case.body)
    return out


def _counts(tree: ast.Module) -> dict[str, Any]:
    """One pass over the statements for every AST count the signals need."""
    functions = simple_functions = classes = class_members = 0
    has_variable = False
    for node in _statements(tree):
        t = type(node)
        if t is ast.FunctionDef:
            functions += 1
            if len(node.body) == 1 and isinstance(node.body[0], ast.Return):
                simple_functions += 1
            if node.args.args:
                has_variable = True
        elif t is ast.ClassDef:
            classes += 1
        elif t is ast.Assign:
            if not has_variable and any(isinstance(x, ast.Name) for x in node.targets):
                has_variable = True
        elif t is ast.For:
            if isinstance(node.target, ast.Name):
                has_variable = True
    # class members: direct (Ann)Assign to bare names in classes not nested in another class
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        node = stack.pop()
        if type(node) is ast.ClassDef:
            for item in node.body:
                if type(item) is ast.Assign:
                    class_members += sum(1 for x in item.targets if isinstance(x, ast.Name))
                elif type(item) is ast.AnnAssign and isinstance(item.target, ast.Name):
                    class_members += 1
            continue  # the reference's visitor does not descend into a class
        for attr in ("body", "orelse", "finalbody"):
            sub = getattr(node, attr, None)
            if type(sub) is list:
                stack.extend(sub)
        for handler in getattr(node, "handlers", ()):
            stack.extend(handler.body)
        for case in getattr(node, "cases", ()):
            stack.extend(case.body)
    return {
        "functions": functions,
        "simple_functions": simple_functions,
        "classes": classes,
        "has_variable": has_variable,
        "class_members": class_members,
    }


def _frac(count: int, total: int) -> float:
    return round(count / total, PRECISION)


def compute(doc: Document) -> dict[str, Any]:
    """The eight ``qsc_codepython_*`` signals (None where the reference's value is undefined)."""
    lines = doc.code_lines
    total = len(lines)
    tree = parse(doc)
    out: dict[str, Any] = {"qsc_codepython_cate_ast": float(tree is not None)}
    n_pass = n_import = n_print = 0
    for line in lines:
        low = line.lower()
        n_pass += "pass" in low
        n_import += "import" in low
        n_print += "print" in line
    c = None if tree is None or total == 0 else _counts_cached(doc, tree)
    out["qsc_codepython_frac_lines_func_ratio"] = None if c is None else _frac(c["functions"], total)
    out["qsc_codepython_cate_var_zero"] = None if tree is None else (not _counts_cached(doc, tree)["has_variable"])
    out["qsc_codepython_frac_lines_pass"] = _frac(n_pass, total) if total else 0.0
    out["qsc_codepython_frac_lines_import"] = _frac(n_import, total) if total else 0.0
    out["qsc_codepython_frac_lines_simplefunc"] = None if c is None else c["simple_functions"] / total
    if c is None:
        out["qsc_codepython_score_lines_no_logic"] = None
    else:
        # imports are counted on stripped lines as in the reference (same as the plain line test)
        returns = len(_SIMPLE_RETURN.findall(doc.code_content))
        all_num = c["functions"] + n_import + c["classes"] + returns + c["class_members"]
        out["qsc_codepython_score_lines_no_logic"] = _frac(all_num, total)
    out["qsc_codepython_frac_lines_print"] = _frac(n_print, total) if total else None
    return out


def _counts_cached(doc: Document, tree: ast.Module) -> dict[str, Any]:
    got = doc.cache.get("python_counts")
    if got is None:
        got = doc.cache["python_counts"] = _counts(tree)
    return got
