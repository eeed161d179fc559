"""The package's layers: no import cycle, no module importing from a layer above its own.

Every ``import`` in ``autograder/`` (also those inside functions) is read with
``ast``; the ``if __name__ == "__main__":`` block of a module is left out (a
module run as a script may hand over to the CLI). Layers, lowest first::

    results, course, notebook, late   the vocabulary: one result type, the course folder, nbgrader's cells
    grading                           one submission -> StudentResult (batch, task, child, kernel, sandbox ...)
    publishing, reports               release/ and its gates; feedback, report, LMS CSV, Gradescope
    collect, demo                     LMS downloads in; the README's demo
    cli, __main__                     the only place that parses arguments, prints summaries and exits

A module may import its own layer and the ones below, never above; inside a
layer the import graph must have no cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "autograder"
LAYERS = [
    {"results", "course", "notebook", "late"},
    {"grading"},
    {"publishing", "reports"},
    {"collect", "demo"},
    {"cli", "__main__"},
]


def _module(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _layer(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1:  # autograder/__init__.py
        return 0
    for i, names in enumerate(LAYERS):
        if parts[1] in names:
            return i
    raise AssertionError(f"{module} is in no layer: add it to LAYERS in {__file__}")


def _is_main_guard(node) -> bool:
    return (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Name) and node.test.left.id == "__name__")


def _imports(path: Path, module: str, known: set) -> set:
    tree = ast.parse(path.read_text())
    body = [n for n in tree.body if not _is_main_guard(n)]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in (n for top in body for n in ast.walk(top)):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            names = [prefix] + [f"{prefix}.{a.name}" for a in node.names]
        for name in names:
            # the longest known module the name refers to
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module and name.startswith("autograder"):
                found.add(name)
    return found


def _graph() -> dict:
    paths = {_module(p): p for p in PKG.rglob("*.py")}
    known = set(paths)
    return {m: _imports(p, m, known) - {"autograder"} for m, p in paths.items()}


def test_no_module_imports_a_higher_layer():
    upward = [f"{m} (layer {_layer(m)}) imports {d} (layer {_layer(d)})"
              for m, deps in sorted(_graph().items()) for d in sorted(deps)
              if _layer(d) > _layer(m)]
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_no_import_cycle():
    graph = _graph()
    cycles, state = [], {}

    def visit(node, stack):
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycles.append(" -> ".join(stack[stack.index(dep):] + [dep]))
            elif dep not in state:
                visit(dep, stack + [dep])
        state[node] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_checker_sees_imports():
    """The graph is not empty: the CLI reaches the grading batch and the result type."""
    graph = _graph()
    assert "autograder.results" in graph["autograder.grading.batch"]
    assert any(d.startswith("autograder.grading") for d in graph["autograder.cli"])
