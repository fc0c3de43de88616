"""Layering rules of the pack, checked from the source files (no imports run)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _modules() -> dict[str, Path]:
    """Dotted module name -> file, for nps_core and nodes."""
    found = {}
    for path in sorted(ROOT.glob("nps_core/**/*.py")) + sorted(ROOT.glob("nodes/*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the pack's modules it imports anywhere in its file (top level or inside functions)."""
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)] if node.level else []
                module = ".".join(base + ([node.module] if node.module else []))
                targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in mods else module for a in node.names]
            graph[name].update(t for t in targets if t in mods and t != name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
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

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles_among_the_packs_modules():
    graph = import_graph()
    assert "nps_core.content.lite_net" in graph["nps_core.content.factory"]  # the graph sees real imports
    assert cycles(graph) == []


def test_the_core_never_imports_comfyui_or_the_nodes():
    for name, path in _modules().items():
        if name.startswith("nps_core"):
            imported = {n.split(".")[0] for node in ast.walk(ast.parse(path.read_text()))
                        if isinstance(node, (ast.Import, ast.ImportFrom))
                        for n in ([a.name for a in node.names] if isinstance(node, ast.Import)
                                  else [node.module or ""])}
            assert not imported & {"comfy", "folder_paths", "nodes", "comfy_api"}, name


MAX_MODULE_LINES = 400


def test_no_core_module_is_longer_than_the_limit():
    long = {name: n for name, path in _modules().items()
            if name.startswith("nps_core") and (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not long, f"split these modules (over {MAX_MODULE_LINES} lines): {long}"
