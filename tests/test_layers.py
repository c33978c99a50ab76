"""The package's layers as the tree shows them: no import cycles, no two modules with one name, and
imports going downwards (core below lvm and tools, those below scenarios, the CLI and shims on top;
`backends` above lvsim).

Imports are read from the source (lazy ones inside functions and TYPE_CHECKING ones count).
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("lvsim", "backends")

# What each layer may not import (a prefix matches the package and everything in it).
FORBIDDEN = {
    "lvsim.core": (
        "lvsim.lvm",
        "lvsim.tools",
        "lvsim.scenarios",
        "lvsim.testing",
        "lvsim.dispatch",
        "lvsim.cli",
        "lvsim.shim",
        "lvsim.backend",
        "lvsim.training",
    ),
    "lvsim.lvm": ("lvsim.scenarios", "lvsim.cli", "lvsim.shim", "lvsim.training"),
    "lvsim.tools": ("lvsim.scenarios", "lvsim.cli", "lvsim.shim", "lvsim.training"),
    "lvsim.scenarios": ("lvsim.cli", "lvsim.shim", "lvsim.training"),
    "lvsim.testing": ("lvsim.cli", "lvsim.shim", "lvsim.training"),
    "lvsim.training": ("lvsim.cli",),  # the trainee's shell, lessons and drills: below the CLI only
    "lvsim": ("backends",),
}


def _modules() -> dict[str, Path]:
    mods = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            mods[name.removesuffix(".__init__")] = path
    return mods


def _imports(name: str, path: Path) -> set[str]:
    """Every module name an import statement in the file names (relative ones resolved)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (a name resolves to its longest module prefix)."""
    mods = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        targets = set()
        for target in _imports(name, path):
            while target and target not in mods:
                target = target.rpartition(".")[0]
            if target and target != name:
                targets.add(target)
        graph[name] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def test_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_no_import_cycles() -> None:
    assert _cycles(_graph()) == []


def test_no_two_modules_with_the_same_name() -> None:
    leaves = Counter(
        name.rpartition(".")[2] for name, path in _modules().items() if path.name != "__init__.py"
    )
    assert [leaf for leaf, count in leaves.items() if count > 1] == []


def test_imports_go_down_the_layers() -> None:
    wrong = []
    for name, targets in _graph().items():
        for layer, forbidden in FORBIDDEN.items():
            if name == layer or name.startswith(layer + "."):
                wrong += [
                    f"{name} imports {t}"
                    for t in targets
                    if any(t == f or t.startswith(f + ".") for f in forbidden)
                ]
    assert wrong == []
