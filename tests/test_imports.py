"""The shape of galen's imports: no cycles, layers that only point down, fixtures kept apart.

Every `import` in galen/ counts, wherever it stands: at the top of a module, inside a function,
or under `if TYPE_CHECKING:` (a cycle broken by moving an import into a function is still a
cycle). Importing `a.b.c` also runs `a` and `a.b`, so an import reaches every package above its
target that the importer is not already inside. A module's own package counts only when the
module names it, so re-exports in an `__init__` are allowed.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

GALEN = Path(__file__).resolve().parents[1] / "galen"

# Lower layers never import higher ones (docs/architecture.md). Modules at galen/'s top level
# (errors, files, config, provenance, lineage) sit below models, as does galen.media (fetching and
# decoding images and video); galen.testing above everything.
LAYERS = {
    "galen.media": 0,
    "galen.models": 1,
    "galen.chat": 2,
    "galen.engine": 3,
    "galen.serve": 4,
    "galen.evals": 4,
    "galen.data": 5,
    "galen.mcp_tools": 5,
    "galen.train": 6,
    "galen.cli": 7,
    "galen.testing": 8,
}


def modules() -> dict[str, tuple[Path, bool]]:
    """Module name -> (file, is a package)."""
    found = {}
    for path in GALEN.rglob("*.py"):
        parts = list(path.relative_to(GALEN.parent).with_suffix("").parts)
        package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if package else parts)] = (path, package)
    return found


def _owner(name: str, known: dict) -> str | None:
    """The galen module an imported name lives in (a name imported from a module is not one)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def _targets(node: ast.AST, package: str, known: dict) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = package.split(".")[: len(package.split(".")) - node.level + 1]
        module = ".".join(base + ([node.module] if node.module else []))
    else:
        module = node.module or ""
    return [f"{module}.{a.name}" if f"{module}.{a.name}" in known else module for a in node.names]


@functools.cache
def import_graph() -> dict[str, set[str]]:
    """Module -> the galen modules importing it runs, counting every import statement."""
    known = modules()
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, (path, package) in known.items():
        inside = name if package else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for target in _targets(node, inside, known):
                owner = _owner(target, known) if target.startswith("galen") else None
                if owner is None or owner == name:
                    continue
                graph[name].add(owner)
                parts = owner.split(".")
                for i in range(1, len(parts)):
                    above = ".".join(parts[:i])
                    if not (name == above or name.startswith(above + ".")):
                        graph[name].add(above)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of two or more modules (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
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
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def layer(module: str) -> tuple[int, str]:
    for prefix, level in LAYERS.items():
        if module == prefix or module.startswith(prefix + "."):
            return level, prefix
    return 0, module


def test_the_graph_sees_imports_inside_functions():
    graph = import_graph()
    # galen.cli.eval imports the runner inside its command function only
    assert "galen.evals.runner" in graph["galen.cli.eval"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles():
    found = cycles(import_graph())
    assert not found, "import cycles (each group imports itself round): " + "; ".join(map(str, found))


def test_layers_only_point_down():
    wrong = []
    for module, targets in import_graph().items():
        mine, package = layer(module)
        for target in targets:
            theirs, other = layer(target)
            if theirs > mine or (theirs == mine and mine == 4 and package != other):
                wrong.append(f"{module} -> {target}")
    assert not wrong, "imports that point up (or sideways between serve and evals): " + ", ".join(wrong)


def test_test_fixtures_stay_out_of_the_product():
    users = [
        module
        for module, targets in import_graph().items()
        if not module.startswith("galen.testing") and any(t.startswith("galen.testing") for t in targets)
    ]
    assert users == []
