"""The package has no import cycles, counting imports inside functions too: a
function-level import that exists only to dodge a cycle is a cycle, and fails here."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "analyzer"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}

    def target(name: str) -> set[str]:
        """The module and the packages above it, all of which an import runs."""
        out, parts = set(), name.split(".")
        for i in range(2, len(parts) + 1):
            if ".".join(parts[:i]) in modules:
                out.add(".".join(parts[:i]))
        return out

    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    graph[name] |= target(alias.name)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                graph[name] |= target(node.module)
                for alias in node.names:  # "from analyzer.review import status"
                    graph[name] |= target(f"{node.module}.{alias.name}")
        graph[name] |= target(name) - {name}  # a module runs its package's __init__ first
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_sees_the_package():
    graph = import_graph()
    assert "analyzer.pipeline" in graph and "analyzer.db.documents" in graph["analyzer.pipeline"]
    # the checker itself finds a cycle when there is one
    assert cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]


def test_no_import_cycles():
    assert cycles(import_graph()) == []
