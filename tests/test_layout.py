"""The package layout: no import cycle in ``pipeline/``, and every stage imports only downstream
(the layout-aware PDF reader's modules too, in their own order).

Run with ``pytest tests/test_layout.py``. Imports are read with :mod:`ast` (module level and
inside functions alike, so a lazy import cannot hide a cycle); nothing is imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PIPELINE = Path(__file__).resolve().parents[1] / "pipeline"

# Layer of each top-level name under pipeline/: a module may import its own layer or lower ones.
LAYERS = {
    "errors": 0, "config": 0, "metrics": 0, "cache": 0, "embedded": 1,
    "resume": 2, "dataset": 3, "train": 4, "onnx": 5, "chain": 6, "harness": 7, "publish": 8, "__main__": 9,
}

# Modules of the layout-aware PDF reader (pipeline/resume/layout/), lowest first: each imports
# only modules before it, never the package itself (its __init__ re-exports from them).
LAYOUT_READER = "pipeline.resume.layout"
LAYOUT_ORDER = ["dates", "words", "parse", "tables", "headings", "columns", "publications", "entries", "reader"]


def _module_name(path: Path) -> str:
    rel = path.relative_to(PIPELINE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """``pipeline.*`` modules imported anywhere in ``path`` (``from pipeline.x import y`` counts
    ``pipeline.x.y`` when that is a module, else ``pipeline.x``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("pipeline")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pipeline"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                out.add(sub if _is_module(sub) else node.module)
    return out


def _is_module(name: str) -> bool:
    path = PIPELINE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _graph() -> dict[str, set[str]]:
    graph = {}
    for path in PIPELINE.rglob("*.py"):
        name = _module_name(path)
        graph[name] = {m for m in _imports(path) if m != name and m != "pipeline"}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if state.get(nxt) is None and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if state.get(node) is None and (found := visit(node)):
            return found
    return None


def test_graph_sees_the_stage_imports():
    graph = _graph()
    assert "pipeline.dataset.samples" in graph["pipeline.dataset.template"]
    assert "pipeline.resume.ingest" in graph["pipeline.dataset.build"]


def test_no_import_cycle():
    cycle = _cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def _layer(module: str) -> int:
    top = module.split(".")[1] if module.count(".") else module
    if top not in LAYERS:
        pytest.fail(f"{module}: add its top-level name to LAYERS in tests/test_layout.py")
    return LAYERS[top]


def test_stages_import_only_downstream():
    offenders = [f"{mod} (layer {_layer(mod)}) imports {dep} (layer {_layer(dep)})"
                 for mod, deps in sorted(_graph().items()) if mod != "pipeline"
                 for dep in sorted(deps) if _layer(dep) > _layer(mod)]
    assert not offenders, "upstream imports:\n" + "\n".join(offenders)


def test_layout_reader_modules_import_only_lower_ones():
    graph = _graph()
    rank = {f"{LAYOUT_READER}.{m}": i for i, m in enumerate(LAYOUT_ORDER)}
    found = {m for m in graph if m.startswith(LAYOUT_READER + ".")}
    assert found == set(rank), f"list every module of pipeline/resume/layout/ in LAYOUT_ORDER: {sorted(found)}"
    offenders = [f"{mod} imports {dep}" for mod, i in sorted(rank.items()) for dep in sorted(graph[mod])
                 if dep == LAYOUT_READER or rank.get(dep, -1) >= i]
    assert not offenders, "layout modules importing a higher one:\n" + "\n".join(offenders)
