"""The package graph: Qt only in `ui/`, and every import pointing down the layers.

Every `import` counts, including the ones inside functions that keep start-up lazy: a lazy import
is still a dependency. The layers, lowest first (see ARCHITECTURE.md):

    base      domain, errors, redact, resources, the package root
    halo      the Halo API
    benji     Benji Pays' merchant API (on halo's transport)
    storage   files, profiles, secrets, logs          sandbox   the built-in Halo
    core      domain logic: discovery checks, links, the backfill, presenters
    ui / cli  the window and the command line (the CLI may open the window)
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import halo_paylink

PACKAGE = Path(halo_paylink.__file__).parent
QT_MODULES = frozenset({"PySide6", "shiboken6", "qasync", "pytestqt"})

#: Each unit's layer; an import may only point at a lower layer.
LAYER = {
    "__init__": 0,
    "domain": 0,
    "redact": 0,
    "resources": 1,
    "errors": 1,
    "halo": 2,
    "benji": 3,
    "storage": 4,
    "sandbox": 4,
    "core": 5,
    "ui": 6,
    "cli": 7,
    "__main__": 8,
}


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports() -> Iterator[tuple[str, str]]:
    """(importing module, imported module) for every import statement in the package."""
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                yield module, node.module
            elif isinstance(node, ast.ImportFrom) and node.level:
                raise AssertionError(f"{module}: use absolute imports")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    yield module, alias.name


def unit_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, imported in _imports():
        if imported.split(".")[0] != "halo_paylink":
            continue
        source = _unit(module) if module != "halo_paylink" else "__init__"
        target = _unit(imported) if imported != "halo_paylink" else "__init__"
        if source != target:
            graph.setdefault(source, set()).add(target)
    return graph


def find_cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """One cycle of `graph` as a path that starts and ends at the same node, or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_only_ui_imports_qt() -> None:
    offenders = sorted(
        f"{module} imports {imported}"
        for module, imported in _imports()
        if imported.split(".")[0] in QT_MODULES and _unit(module) != "ui"
    )
    assert offenders == []


def test_every_unit_has_a_layer() -> None:
    units = {_unit(m) if m != "halo_paylink" else "__init__" for m, _ in _imports()}
    assert units <= set(LAYER), f"give these a layer: {sorted(units - set(LAYER))}"


def test_imports_point_down_the_layers() -> None:
    upward = sorted(
        f"{source} ({LAYER[source]}) imports {target} ({LAYER[target]})"
        for source, targets in unit_graph().items()
        for target in targets
        if LAYER[target] >= LAYER[source]
    )
    assert upward == []


def test_the_package_graph_has_no_cycle() -> None:
    assert find_cycle(unit_graph()) is None


def test_the_cycle_finder_finds_cycles() -> None:
    assert find_cycle({"halo": {"storage"}, "storage": {"errors", "halo"}}) == [
        "halo",
        "storage",
        "halo",
    ]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
