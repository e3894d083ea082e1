"""JavaScript quality signals (``qsc_codejavascript_*``): the reference's AST counts, from tree-sitter.

    Document ──▶ tree-sitter-javascript parse (C, linear) ──▶ one query: declarators, functions,
             classes, returns, imports, ``module.exports.x = ...``, and every construct esprima 4.0.1
             rejects ──▶ the reference's counts and ratios per non-blank code line

The reference parses with esprima 4.0.1 (pure Python; module mode when the text contains "import" or
"export", else script mode, with a script-mode retry) and walks its ESTree. esprima costs more than all
other signals together, so we parse with tree-sitter and map its tree to the same ESTree facts:

* ``cate_ast`` (did esprima parse it): tree-sitter found no syntax error *and* the file uses nothing
  esprima 4.0.1 (ES2017) rejects: optional chaining, ``??``, logical assignment, class fields, private
  names, static blocks, BigInt and numeric separators, ``for await``, async generators, catch without a
  binding, ``import.meta``, ``export * as``, decorators, JSX, a ``#!`` line, import attributes, ``await``
  or ``return`` outside a (matching) function, and regular expressions Python's ``re`` cannot compile
  (esprima-python validates regex literals with ``re``). With ``import``/``export`` declarations the file
  must also pass module (strict) mode: no ``with``, no legacy octal literals or octal escapes.
* declarators (``var/let/const x = ...``, ``for (const x of ...)``): a *variable* unless its initialiser
  is a non-async ``function`` expression, which makes it a *function*; ``module.exports.x = ...`` is a
  function when the right side is a function or arrow expression, else a variable (also
  ``module.exports[name] = ...``: esprima's computed member still has an identifier property); function
  declarations (named) are functions; class *declarations* (named) are classes; "simple" declarators,
  returns and exports have no initialiser or a literal, identifier or unary expression (parentheses
  unwrapped, as ESTree has none).
* ``num_statement_line`` counts the top-level statements (ESTree ``Program.body``).

Where the two parsers still disagree (esprima early errors tree-sitter does not model, ASI corner
cases) values differ; DIVERGENCES.md ("Language-specific signals") lists what we measured.

What it does NOT do: evaluate scope (no binding resolution, exactly like the reference), lex comments
(``opc_data.lexing.javascript``), general code signals, keep/drop.
"""

from __future__ import annotations

import re
import warnings
from functools import lru_cache
from typing import Any

from opc_data.document import Document

__all__ = ["compute", "SIGNALS", "analyse"]

PRECISION = 8

SIGNALS = (
    "qsc_codejavascript_cate_ast",
    "qsc_codejavascript_cate_var_zero",
    "qsc_codejavascript_frac_lines_func_ratio",
    "qsc_codejavascript_num_statement_line",
    "qsc_codejavascript_score_lines_no_logic",
    "qsc_codejavascript_frac_words_legal_var_name",
    "qsc_codejavascript_frac_words_legal_func_name",
    "qsc_codejavascript_frac_words_legal_class_name",
    "qsc_codejavascript_frac_lines_print",
)

_QUERY = r"""
(variable_declarator) @decl
(for_in_statement kind: _ left: _ @forleft)
(function_declaration name: (identifier) @func)
(generator_function_declaration name: (identifier) @func)
(class_declaration name: (identifier) @class)
(return_statement) @return
(import_statement) @import
(export_statement) @export
(assignment_expression
  left: (member_expression
    object: (member_expression object: (identifier) @_m property: (property_identifier) @_e)
    property: (property_identifier) @expname)
  right: (_) @exprhs
  (#eq? @_m "module") (#eq? @_e "exports"))
(augmented_assignment_expression
  left: (member_expression
    object: (member_expression object: (identifier) @_m property: (property_identifier) @_e)
    property: (property_identifier) @expname)
  right: (_) @exprhs
  (#eq? @_m "module") (#eq? @_e "exports"))
(assignment_expression
  left: (subscript_expression
    object: (member_expression object: (identifier) @_m property: (property_identifier) @_e)
    index: (identifier) @expname)
  right: (_) @exprhs
  (#eq? @_m "module") (#eq? @_e "exports"))
(augmented_assignment_expression
  left: (subscript_expression
    object: (member_expression object: (identifier) @_m property: (property_identifier) @_e)
    index: (identifier) @expname)
  right: (_) @exprhs
  (#eq? @_m "module") (#eq? @_e "exports"))
(regex pattern: (regex_pattern) @regex)
[(optional_chain) (field_definition) (private_property_identifier) (class_static_block) (decorator)
 (jsx_element) (jsx_self_closing_element) (hash_bang_line) (namespace_export) (import_attribute)] @modern
(binary_expression operator: "??") @modern
(augmented_assignment_expression operator: ["||=" "&&=" "??="]) @modern
(for_in_statement "await") @modern
(generator_function_declaration "async") @modern
(generator_function "async") @modern
(method_definition "async" "*") @modern
(catch_clause !parameter) @modern
(meta_property) @meta
(number) @number
(await_expression) @await
(with_statement) @strict
(escape_sequence) @escape
"""

_FUNCTION_TYPES = frozenset({"function_declaration", "generator_function_declaration", "function_expression",
                             "generator_function", "arrow_function", "method_definition"})
_SIMPLE_TYPES = frozenset({"string", "number", "true", "false", "null", "regex", "identifier", "undefined",
                           "unary_expression"})
_NON_STATEMENTS = frozenset({"comment", "html_comment", "hash_bang_line"})
_LEGAL_VAR = re.compile(r"^[a-z\$][a-zA-Z0-9]*$")
_LEGAL_FUNC = re.compile(r"^[a-zA-Z\$][a-zA-Z0-9]*$")
_LEGAL_CLASS = re.compile(r"^[A-Z][a-zA-Z0-9]*$")
_UNICODE_ESCAPE = re.compile(r"\\u\{([0-9a-fA-F]+)\}|\\u([a-fA-F0-9]{4})")
_SURROGATE_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")
_LEGACY_OCTAL = re.compile(r"0[0-9]+$")
_OCTAL_ESCAPE = re.compile(r"\\(?:[1-7]|0[0-9])")
_USING = re.compile(rb"\busing\b")


@lru_cache(maxsize=1)
def _parser() -> tuple[Any, Any]:
    """(Parser, QueryCursor) for JavaScript, built once per process (imports kept lazy)."""
    import tree_sitter_javascript  # noqa: PLC0415
    from tree_sitter import Language, Parser, Query, QueryCursor  # noqa: PLC0415

    language = Language(tree_sitter_javascript.language())
    return Parser(language), QueryCursor(Query(language, _QUERY))


@lru_cache(maxsize=8192)  # the same literals recur across files (vendored libraries)
def _regex_ok(pattern: str, flags: str) -> bool:
    """esprima-python's testRegExp: the pattern must compile with Python's ``re``."""

    def astral(m: re.Match[str]) -> str:
        code = int(m.group(1) or m.group(2), 16)
        if code > 0x10FFFF:
            raise ValueError("invalid code point")
        return chr(code) if code <= 0xFFFF else "\uffff"

    try:
        pattern = _UNICODE_ESCAPE.sub(astral, pattern)
        pattern = _SURROGATE_PAIR.sub("\uffff", pattern)
        pyflags = re.M if "m" in flags else re.I if "i" in flags else 0
        with warnings.catch_warnings():  # e.g. "possible nested set": a warning, not a failure
            warnings.simplefilter("ignore")
            re.compile(pattern, pyflags)
    except Exception:  # noqa: BLE001  (any failure is esprima's InvalidRegExp)
        return False
    return True


def _unwrap(node: Any) -> Any:
    while node is not None and node.type == "parenthesized_expression":
        inner = [c for c in node.named_children if c.type not in _NON_STATEMENTS]
        if len(inner) != 1:
            return node
        node = inner[0]
    return node


def _is_plain_function_expression(node: Any) -> bool:
    """esprima's ``isinstance(x, FunctionExpression)``: non-async ``function``/``function*`` expressions."""
    if node is None or node.type not in ("function_expression", "generator_function"):
        return False
    first = node.child(0)
    return first is None or first.type != "async"


def _inside_function(node: Any, *, need_async: bool) -> bool:
    p = node.parent
    while p is not None:
        if p.type in _FUNCTION_TYPES:
            if not need_async:
                return True
            return any(c.type == "async" for c in p.children[:2])
        if p.type == "class_static_block":
            return False
        p = p.parent
    return False


def analyse(content: str) -> dict[str, Any] | None:
    """The ESTree facts the reference counts, or None when esprima 4.0.1 would not parse ``content``."""
    parser, cursor = _parser()
    data = content.encode("utf-8", "surrogatepass")
    tree = parser.parse(data)
    root = tree.root_node
    if root.has_error and b"using" in data:
        # tree-sitter-javascript reads `using` as the (ES2026) declaration keyword; for esprima it is an
        # ordinary identifier. Rename it (same length, same legal-name class) and parse again.
        tree = parser.parse(_USING.sub(b"usinG", data))
        root = tree.root_node
    if root.has_error:
        return None
    caps = cursor.captures(root)
    if caps.get("modern"):
        return None
    for node in caps.get("meta", ()):
        if node.text.startswith(b"import"):
            return None
    for node in caps.get("number", ()):
        t = node.text
        if b"_" in t or (t.endswith(b"n") and not t.startswith((b"0x", b"0X"))):
            return None
    for node in caps.get("await", ()):
        if not _inside_function(node, need_async=True):
            return None
    for node in caps.get("return", ()):
        if not _inside_function(node, need_async=False):
            return None
    for node in caps.get("regex", ()):
        flags_node = node.parent.child_by_field_name("flags")
        flags = flags_node.text.decode("utf-8", "surrogatepass") if flags_node is not None else ""
        if not _regex_ok(node.text.decode("utf-8", "surrogatepass"), flags):
            return None
    has_module_syntax = bool(caps.get("import")) or bool(caps.get("export"))
    if has_module_syntax:
        # esprima tries module (strict) mode, then script mode, which rejects import/export
        if caps.get("strict"):
            return None
        if any(_OCTAL_ESCAPE.match(n.text.decode("utf-8", "surrogatepass")) for n in caps.get("escape", ())):
            return None
        if any(_LEGACY_OCTAL.match(n.text.decode("ascii", "replace")) for n in caps.get("number", ())):
            return None

    def text(node: Any) -> str:
        return node.text.decode("utf-8", "surrogatepass")

    variables: list[str] = []
    functions: list[str] = []
    simple = 0
    for decl in caps.get("decl", ()):
        name = decl.child_by_field_name("name")
        value = _unwrap(decl.child_by_field_name("value"))
        ident = text(name) if name is not None and name.type == "identifier" else None
        plain_fn = _is_plain_function_expression(value)
        if plain_fn:
            if ident:
                functions.append(ident)
        else:
            if ident:
                variables.append(ident)
            if value is None or value.type in _SIMPLE_TYPES:
                simple += 1
    for left in caps.get("forleft", ()):  # for (var|let|const x of/in ...): a declarator without init
        if left.type == "identifier":
            variables.append(text(left))
        simple += 1
    for node in caps.get("func", ()):
        functions.append(text(node))
    for rhs in caps.get("exprhs", ()):
        # module.exports.NAME = rhs: read NAME from the same assignment (not by pairing capture lists)
        left = rhs.parent.child_by_field_name("left")
        name_node = left.child_by_field_name("property") or left.child_by_field_name("index")
        rhs = _unwrap(rhs)
        name = text(name_node)
        if rhs.type in ("function_expression", "generator_function", "arrow_function"):
            functions.append(name)
        else:
            variables.append(name)
            if rhs.type in _SIMPLE_TYPES:
                simple += 1
    returns = 0
    for node in caps.get("return", ()):
        arg = next((c for c in node.named_children if c.type not in _NON_STATEMENTS), None)
        arg = _unwrap(arg)
        if arg is None or arg.type in _SIMPLE_TYPES:
            returns += 1
    classes = [text(n) for n in caps.get("class", ())]
    statements = sum(1 for c in root.named_children if c.type not in _NON_STATEMENTS)
    return {
        "variables": variables,
        "functions": functions,
        "classes": classes,
        "simple_variables": simple,
        "returns": returns,
        "imports": len(caps.get("import", ())),
        "statements": statements,
    }


def _frac(count: int, total: int) -> float:
    return round(count / total, PRECISION)


def _legal(names: list[str], pattern: re.Pattern[str]) -> float | None:
    if not names:
        return None
    return _frac(sum(1 for n in names if pattern.match(n)), len(names))


def compute(doc: Document) -> dict[str, Any]:
    """The nine ``qsc_codejavascript_*`` signals (None where the reference's value is undefined)."""
    if doc.program_lang != "javascript":
        return {}
    lines = doc.code_lines
    total = len(lines)
    facts = doc.cache.get("javascript_facts", False)
    if facts is False:
        facts = doc.cache["javascript_facts"] = analyse(doc.content)
    out: dict[str, Any] = {"qsc_codejavascript_cate_ast": float(facts is not None)}
    if facts is None:
        out.update({k: None for k in SIGNALS[1:-1]})
    else:
        out["qsc_codejavascript_cate_var_zero"] = float(not facts["variables"])
        if total:
            out["qsc_codejavascript_frac_lines_func_ratio"] = _frac(len(facts["functions"]), total)
            out["qsc_codejavascript_num_statement_line"] = _frac(facts["statements"], total)
            count = (
                len(facts["functions"])
                + facts["imports"]
                + facts["simple_variables"]
                + facts["returns"]
                + len(facts["classes"])
            )
            out["qsc_codejavascript_score_lines_no_logic"] = _frac(count, total)
        else:
            out["qsc_codejavascript_frac_lines_func_ratio"] = None
            out["qsc_codejavascript_num_statement_line"] = None
            out["qsc_codejavascript_score_lines_no_logic"] = None
        out["qsc_codejavascript_frac_words_legal_var_name"] = _legal(facts["variables"], _LEGAL_VAR)
        out["qsc_codejavascript_frac_words_legal_func_name"] = _legal(facts["functions"], _LEGAL_FUNC)
        out["qsc_codejavascript_frac_words_legal_class_name"] = _legal(facts["classes"], _LEGAL_CLASS)
    out["qsc_codejavascript_frac_lines_print"] = (
        _frac(sum("console.log" in ln for ln in lines), total) if total else None
    )
    return out
