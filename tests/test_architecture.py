"""The shape of app/: no import cycles, and data flows one way (views → services → models).

The graph is read from the source with `ast`: every `import` and `from … import` at any level (a function's
lazy import counts as much as a module's), resolved to the modules inside the package.
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"

# Modules whose imports point at the first line that made each edge: {module: {imported module: line}}.
Graph = dict[str, dict[str, int]]


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path) -> Graph:
    """Which module of the package at root imports which, with the line of the first import of each."""
    files = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    graph: Graph = {name: {} for name in files}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                # `from app.views import api` imports the module app.views.api; `from app import CSP` imports app.
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            else:
                continue
            for target in targets:
                while target and target not in files:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].setdefault(target, node.lineno)
    return graph


def find_cycle(graph: Graph) -> list[str] | None:
    """One import cycle, as the modules along it (the first repeated at the end), or None."""
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as exc:
        return list(reversed(exc.args[1]))
    return None


def describe(cycle: list[str], graph: Graph) -> str:
    return "\n".join(f"  {a} (line {graph[a][b]}) imports {b}" for a, b in zip(cycle, cycle[1:], strict=False))


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def violations(graph: Graph, importer: str, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{a} (line {line}) imports {b}"
        for a, targets in sorted(graph.items())
        if within(a, importer)
        for b, line in sorted(targets.items())
        if any(within(b, f) for f in forbidden)
    ]


@pytest.fixture(scope="module")
def graph() -> Graph:
    return import_graph(APP)


def test_the_graph_sees_module_and_function_level_imports(graph):
    # If the reader missed whole kinds of import, "no cycle" below would prove nothing.
    assert "app.views.api.tickets" in graph["app.views.api"]  # from app.views.api import tickets
    assert "app.views.api.serialize" in graph["app.views.api.tickets"]  # from app.views.api.serialize import …
    assert "app.commands" in graph["app"]
    assert "app.permissions" in graph["app.web"]  # from app import permissions: the module, not the package


def test_a_lazy_import_back_is_a_cycle(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from pkg.sub import leaf\n")
    (pkg / "sub" / "leaf.py").write_text("def f():\n    from .. import top\n    return top\n")
    (pkg / "top.py").write_text("from pkg import sub\n")
    graph = import_graph(pkg)
    cycle = find_cycle(graph)
    assert cycle is not None and set(cycle) == {"pkg.sub", "pkg.sub.leaf", "pkg.top"}
    assert "pkg.sub.leaf (line 2) imports pkg.top" in describe(cycle, graph)


def test_no_import_cycles(graph):
    cycle = find_cycle(graph)
    assert cycle is None, "Import cycle in app/:\n" + describe(cycle, graph)


def test_data_flows_one_way(graph):
    assert violations(graph, "app.models", ("app.services", "app.views", "app.web")) == []
    assert violations(graph, "app.services", ("app.views", "app.web")) == []
    assert violations(graph, "app.web", ("app.views",)) == []


def test_only_the_entry_point_imports_the_package_root(graph):
    # create_app's module imports everything; a module importing it back would close a cycle at start-up.
    importers = [f"{a} (line {t['app']})" for a, t in sorted(graph.items()) if "app" in t and a != "app.cli"]
    assert importers == []


def test_the_api_helpers_sit_below_its_routes(graph):
    helpers = {"app.views.api.blueprint", "app.views.api.common", "app.views.api.serialize"}
    above = [
        f"{a} (line {line}) imports {b}"
        for a in sorted(helpers)
        for b, line in sorted(graph[a].items())
        if within(b, "app.views.api") and b not in helpers
    ]
    assert above == []
    routes = [m for m in graph if m.startswith("app.views.api.") and m not in helpers]
    assert routes, "no API route modules found"
    assert [m for m in routes if "app.views.api" in graph[m]] == []
