"""The import rules of docs/architecture.md: layers import one way, and no module takes part in an import circle.

Every import counts: at module level, inside functions (a lazy import still ties the modules together) and under
``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = "airflow_provider_vlocr"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE
# Each part of the package and the parts it may import (besides itself). Lower layers never import higher ones.
ALLOWED = {
    "licence": set(),  # the domain: schema, plates, VIN, normalisation, record rules, pairing, PII
    "core": {"licence"},  # no Airflow: client, engines and registry, the batch pipeline
    "emulator": {"licence", "core"},
    "policies": {"licence", "core"},  # Airflow adapters from here up
    "hooks": {"licence", "core"},
    "fs": {"licence", "core", "hooks"},
    "operators": {"licence", "core", "hooks", "fs", "policies"},
    "get_provider_info": {"licence", "core"},
    "testing": {"licence", "core", "emulator"},
    "__init__": set(),
}
ROOT_MODULE = PACKAGE  # the package's __init__ (the version): any part may read it


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name → file, for every module of the package."""
    found = {}
    for path in root.rglob("*.py"):
        parts = [PACKAGE, *path.relative_to(root).with_suffix("").parts]
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports_of(name: str, path: Path, known: dict[str, Path]) -> Iterator[str]:
    """The package's modules that ``name`` imports, wherever in the file."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join([*package[: len(package) - node.level + 1], node.module or ""]).rstrip(".")
            else:
                base = node.module or ""
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # `import a.b.c` or a name inside a module
                target = target.rpartition(".")[0]
            if target and target != name and target.startswith(PACKAGE):
                yield target


def graph(root: Path = ROOT) -> dict[str, set[str]]:
    known = modules(root)
    return {name: set(imports_of(name, path, known)) for name, path in known.items()}


def part_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def upward_imports(edges: dict[str, set[str]]) -> list[str]:
    return sorted(
        f"{source} imports {target}"
        for source, targets in edges.items()
        for target in targets
        if target != ROOT_MODULE and part_of(target) != part_of(source)
        and part_of(target) not in ALLOWED[part_of(source)]
    )


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_every_part_of_the_package_has_a_layer() -> None:
    assert {part_of(module) for module in modules()} <= set(ALLOWED)


def test_layers_import_one_way() -> None:
    assert upward_imports(graph()) == []


def test_no_import_circles() -> None:
    assert circles(graph()) == []


def test_the_checks_see_a_planted_circle_and_an_upward_import(tmp_path: Path) -> None:
    """The checks themselves: a copy of a small package with a circle and an upward import is caught."""
    root = tmp_path / PACKAGE
    for folder in ("licence", "core"):
        (root / folder).mkdir(parents=True)
        (root / folder / "__init__.py").write_text("")
    (root / "__init__.py").write_text("")
    (root / "licence" / "plates.py").write_text("from ..core import pipeline\n")  # upward
    (root / "core" / "pipeline.py").write_text("def f():\n    from . import journal\n")  # hidden in a function
    (root / "core" / "journal.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                              "    from .pipeline import f\n")  # fmt: skip
    edges = graph(root)
    assert circles(edges) == [[f"{PACKAGE}.core.journal", f"{PACKAGE}.core.pipeline"]]
    assert upward_imports(edges) == [f"{PACKAGE}.licence.plates imports {PACKAGE}.core.pipeline"]


def test_module_names_say_one_thing() -> None:
    """No two modules share a name, but the hook's and the operator's, named by Airflow's provider convention."""
    names: dict[str, list[str]] = {}
    for module in modules():
        if module.count("."):
            names.setdefault(module.rpartition(".")[2], []).append(module)
    shared = {name: paths for name, paths in names.items() if len(paths) > 1}
    assert sorted(shared) == ["vehicle_license_ocr"], shared
    expected = [f"{PACKAGE}.{part}.vehicle_license_ocr" for part in ("hooks", "operators")]
    assert sorted(shared["vehicle_license_ocr"]) == expected
