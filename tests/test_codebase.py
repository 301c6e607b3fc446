"""The codebase's own rules, checked on every run so that they stay true as the code grows.

Small modules named for one concept, short functions and an import graph without cycles are what
let a newcomer read one part of DDAS without reading the rest; a rule that is only written down
decays one "just this once" at a time. The formatter owns the layout, so nothing may opt out of it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYTHON_TREES = ("ddas", "jupyter_server_ext", "tests", "benchmarks")
TYPESCRIPT = ROOT / "labextension" / "src"
GENERATED = ("This file was auto-generated",)  # openapi-typescript's output is not ours to split
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
PACKAGES = {"ddas": ROOT / "ddas", "ddas_server": ROOT / "jupyter_server_ext" / "ddas_server"}


def python_files() -> Iterator[Path]:
    for tree in PYTHON_TREES:
        for path in sorted((ROOT / tree).rglob("*.py")):
            if not any(part.startswith(".") or part == "node_modules" for part in path.parts):
                yield path


def shown(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_no_module_is_over_400_lines() -> None:
    sources = [*python_files(), *sorted(TYPESCRIPT.rglob("*.ts*"))]
    too_long = {
        shown(path): lines
        for path in sources
        if (lines := len((text := path.read_text()).splitlines())) > MAX_MODULE_LINES
        and not any(marker in text[:300] for marker in GENERATED)
    }
    assert sources and not too_long, f"split these modules by concept: {too_long}"


def test_no_function_is_over_60_lines() -> None:
    too_long = {}
    for path in python_files():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1  # type: ignore[operator]
                if lines > MAX_FUNCTION_LINES:
                    too_long[f"{shown(path)}:{node.lineno} {node.name}"] = lines
    assert not too_long, f"split these functions: {too_long}"


def test_nothing_opts_out_of_the_formatter() -> None:
    pattern = re.compile(r"#\s*fmt:\s*(skip|off)")
    opted_out = [shown(p) for p in python_files() if pattern.search(p.read_text())]
    assert not opted_out, f"the formatter owns the layout: {opted_out}"


def module_names() -> dict[str, Path]:
    """Every module of the two packages, by dotted name."""
    names = {}
    for top, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = [top, *path.relative_to(folder).with_suffix("").parts]
            names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def imported(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package modules that ``name`` imports when it runs: at the top or inside a function
    (a deferred import still makes a cycle), but not under ``if TYPE_CHECKING:``, which never runs.
    ``from pkg import sub`` counts as importing ``pkg.sub``, as ``import pkg.sub`` would."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            subs = {f"{base}.{alias.name}" for alias in node.names} & modules.keys()
            found.update(subs if len(subs) == len(node.names) else {base, *subs})
    return (found & modules.keys()) - {name}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = stack[stack.index(node) :]
                    del stack[stack.index(node) :]
                    if len(component) > 1:
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in stack:
                low[node] = min(low[node], index[child])
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_the_import_graph_has_no_cycles(package: str) -> None:
    modules = module_names()
    graph = {name: imported(name, path, modules) for name, path in modules.items()}
    assert len(graph[package]) > 0, "the import scanner found nothing: it is broken"
    in_package = [c for c in cycles(graph) if c[0].split(".")[0] == package]
    assert not in_package, f"break these import cycles: {in_package}"
