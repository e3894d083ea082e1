"""The first-party import graph, read from source with ``ast`` (nothing is imported or executed).

Two questions depend on it, and both are asked by tests so they cannot silently rot:

- does a stage's declared ``code_modules`` cover every first-party module its code can reach? (a cache key
  must move when the code that computes the output moves, and only then);
- is there an import cycle between the modules of a package? (a cycle means a third module is missing).

Every ``import`` and ``from … import`` counts: at module level, inside functions, and under
``if TYPE_CHECKING:``. ``from pkg import name`` counts ``pkg.name`` when that is a module, else ``pkg``.
Importing ``a.b.c`` also runs ``a/__init__.py`` and ``a/b/__init__.py``, so those count too. One
exception, because it is how Python runs them: the imports inside a package ``__init__``'s module-level
``__getattr__`` (lazy re-exports) run only when someone reads that attribute of the package, never when a
submodule is imported, so they are not edges of the ``__init__`` (a module that reads the attribute
imports the package, and ``from pkg import Name`` resolves ``Name`` to its module when it can).
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Iterable
from functools import cache
from pathlib import Path


@cache
def module_file(name: str) -> Path | None:
    """The source file of module ``name`` (a package's ``__init__.py``), or None if it is not Python source."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    return Path(spec.origin)


def _is_package(name: str) -> bool:
    file = module_file(name)
    return file is not None and file.name == "__init__.py"


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


@cache
def direct_imports(name: str) -> frozenset[str]:
    """Modules that ``name``'s source imports anywhere in its body (absolute names, parents included)."""
    file = module_file(name)
    if file is None:
        return frozenset()
    tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
    package = name if _is_package(name) else name.rpartition(".")[0]
    found: set[str] = set()
    lazy: set[int] = set()
    if file.name == "__init__.py":
        for top in tree.body:
            if isinstance(top, ast.FunctionDef) and top.name == "__getattr__":
                lazy.update(id(n) for n in ast.walk(top))
    for node in ast.walk(tree):
        if id(node) in lazy:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                if alias.name != "*" and module_file(candidate) is not None:
                    found.add(candidate)
    for mod in list(found):
        found.update(_parents(mod))
    found.discard(name)
    return frozenset(m for m in found if m)


def closure(roots: Iterable[str], prefixes: tuple[str, ...]) -> set[str]:
    """Every module reachable from ``roots`` whose top-level package is one of ``prefixes``."""
    def first_party(mod: str) -> bool:
        return mod.split(".")[0] in prefixes and module_file(mod) is not None

    seen: set[str] = set()
    todo = [r for r in roots if first_party(r)]
    for root in list(todo):
        todo.extend(p for p in _parents(root) if first_party(p))
    while todo:
        mod = todo.pop()
        if mod in seen:
            continue
        seen.add(mod)
        todo.extend(m for m in direct_imports(mod) if first_party(m) and m not in seen)
    return seen


def covered(module: str, declared: Iterable[str]) -> bool:
    """Whether ``module`` is hashed by a ``code_modules`` declaration: named, inside a named package, or a
    package above a named module (its ``__init__`` is hashed with it; see ``content_key.code_version``)."""
    return any(module == d or module.startswith(d + ".") or d.startswith(module + ".") for d in declared)


def package_modules(package: str) -> list[str]:
    """All modules of an installed first-party package, by walking its source tree."""
    init = module_file(package)
    if init is None:
        return []
    root = init.parent
    names = []
    for file in sorted(root.rglob("*.py")):
        if "__pycache__" in file.parts:
            continue
        rel = file.relative_to(root).with_suffix("")
        parts = [package, *rel.parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(parts))
    return names


def find_cycle(modules: Iterable[str]) -> list[str] | None:
    """One import cycle among ``modules`` (edges restricted to them), as a path a -> b -> … -> a, or None.

    A package's ``__init__`` importing its own submodules is how a package's public face is built, not a
    cycle between peers: edges from a submodule to one of its parent packages are ignored.
    """
    nodes = set(modules)
    graph = {m: sorted(d for d in direct_imports(m) if d in nodes and not m.startswith(d + ".")) for m in nodes}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(nodes):
        if node not in state and (found := visit(node)):
            return found
    return None
