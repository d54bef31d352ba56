"""The package map of docs/architecture.md holds in the code: no import cycle, only the allowed imports."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "monitor"
MAP = ROOT / "docs" / "architecture.md"
RULE = re.compile(r"^\s*([\w]+)\s*->\s*(.*?)\s*$")


@dataclass(frozen=True, slots=True)
class Edge:
    """One import: `importer` imports `imported` (module names), at `line` of the importer's file."""

    importer: str
    imported: str
    line: int


def module_name(path: Path) -> str:
    """`monitor/store/db.py` -> `monitor.store.db`; a package's `__init__.py` is the package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    """Every module of the package, migrations (alembic scripts, loaded by file) left out."""
    return {
        module_name(path): path
        for path in sorted(PACKAGE.rglob("*.py"))
        if "migrations" not in path.relative_to(PACKAGE).parts
    }


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> Iterator[Edge]:
    """Every import of a project module in one file, at any depth (function-level imports count too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "monitor":
                    yield Edge(name, _known(alias.name, modules), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "monitor":
                continue
            for alias in node.names:
                # `from monitor.parse import feed` imports the module monitor.parse.feed.
                candidate = f"{target}.{alias.name}"
                yield Edge(name, candidate if candidate in modules else _known(target, modules), node.lineno)


def _known(target: str, modules: dict[str, Path]) -> str:
    while target not in modules and "." in target:
        target = target.rpartition(".")[0]
    return target


def import_graph() -> tuple[dict[str, Path], list[Edge]]:
    """The project's modules and every import between them."""
    modules = project_modules()
    edges = [edge for name, path in modules.items() for edge in imports_of(name, path, modules)]
    return modules, [edge for edge in edges if edge.imported != edge.importer]


def layer(module: str) -> str:
    """The map's unit a module belongs to: its package under monitor, or the top-level module itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "monitor"


def allowed_imports() -> dict[str, set[str]]:
    """The rules of the map: the fenced block after "## Which package may import which" in docs/architecture.md."""
    text = MAP.read_text(encoding="utf-8")
    section = text.split("## Which package may import which", 1)[1]
    block = section.split("```", 2)[1]
    rules: dict[str, set[str]] = {}
    for line in block.splitlines()[1:]:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = RULE.match(line)
        assert match, f"docs/architecture.md: cannot read the rule {line!r} (expected `unit -> a, b, c`)"
        unit, targets = match.groups()
        rules[unit] = {t.strip() for t in targets.split(",") if t.strip() and t.strip() != "-"}
    return rules


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_between_modules() -> None:
    _, edges = import_graph()
    graph: dict[str, set[str]] = defaultdict(set)
    for edge in edges:
        graph[edge.importer].add(edge.imported)
    assert cycles(graph) == [], "modules that import each other (docs/architecture.md: no cycles)"


def test_no_import_cycle_between_packages() -> None:
    _, edges = import_graph()
    graph: dict[str, set[str]] = defaultdict(set)
    for edge in edges:
        if layer(edge.importer) != layer(edge.imported):
            graph[layer(edge.importer)].add(layer(edge.imported))
    assert cycles(graph) == []


def test_every_import_between_packages_is_allowed_by_the_map() -> None:
    rules = allowed_imports()
    modules, edges = import_graph()
    units = {layer(name) for name in modules}
    assert units <= set(rules), f"docs/architecture.md has no rule for {sorted(units - set(rules))}"
    assert set(rules) <= units, f"docs/architecture.md has rules for what does not exist: {sorted(set(rules) - units)}"
    refused = sorted(
        f"{modules[e.importer].relative_to(ROOT)}:{e.line} imports {e.imported} ({layer(e.importer)} -> {layer(e.imported)})"
        for e in edges
        if layer(e.importer) != layer(e.imported) and layer(e.imported) not in rules[layer(e.importer)]
    )
    assert refused == [], "imports the map in docs/architecture.md does not allow:\n" + "\n".join(refused)


def test_the_map_itself_has_no_cycle_and_names_only_known_units() -> None:
    rules = allowed_imports()
    unknown = {t for targets in rules.values() for t in targets} - set(rules)
    assert not unknown, f"rules name units that have no rule of their own: {sorted(unknown)}"
    assert cycles(rules) == []


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
    ],
)
def test_the_cycle_finder_finds_cycles(graph: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert cycles(graph) == expected


def test_the_import_reader_sees_relative_and_function_level_imports(tmp_path: Path) -> None:
    source = "from . import b\n\ndef f() -> None:\n    from monitor.pkg.c import thing\n"
    path = tmp_path / "a.py"
    path.write_text(source)
    modules = {"monitor.pkg.a": path, "monitor.pkg.b": path, "monitor.pkg.c": path}
    edges = list(imports_of("monitor.pkg.a", path, modules))
    assert [(e.imported, e.line) for e in edges] == [("monitor.pkg.b", 1), ("monitor.pkg.c", 4)]
