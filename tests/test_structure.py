"""The architecture stays as designed (docs/design.md): the layer contract, no import cycle between files, short
functions. Checked by tools, not by comments."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 60


def test_the_layer_contract_holds():
    """import-linter's layers contract in pyproject.toml: every module imports only from layers below it."""
    proc = subprocess.run([str(Path(sys.executable).parent / "lint-imports")], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_between_files():
    """Imports inside functions count: a cycle hidden in a function is still a cycle."""
    graph = grimp.build_graph("groklab")
    modules = {m for m in graph.modules if m.startswith("groklab")}
    edges = {m: {d for d in graph.find_modules_directly_imported_by(m) if d in modules and d != "groklab"}
             for m in modules if m != "groklab"}
    assert cycles(edges) == []


def test_no_function_longer_than_sixty_lines():
    long = []
    for path in sorted((ROOT / "groklab").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1  # type: ignore[operator]
                if lines > MAX_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    assert long == []
