"""The layers of docs/design.md, checked over the source's own imports (every import, also
those inside functions and under TYPE_CHECKING: a lazy import is still a dependency)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# ground modules import nothing above errors; the store may lean on them
GROUND = {"mreg.errors", "mreg.names", "mreg.clock", "mreg.codec", "mreg.layout", "mreg.paths"}
# what the CLI may import besides itself: the facade, results, errors, ground modules, the
# pure vocabulary a user types or reads (documents, states, baselines, diffs), and renderers
CLI_ALLOWED = GROUND | {
    "mreg.registry", "mreg.results",
    "mreg.manifest", "mreg.lifecycle", "mreg.gates", "mreg.diff",
    "mreg.card", "mreg.lineage.render",
}
ABOVE_FACADE = {"mreg", "mreg.__main__", "mreg.registry"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted((SRC / "mreg").rglob("*.py"))}


MODULES = _modules()


def _imports(name: str) -> set[str]:
    """The mreg modules ``name`` imports (``from mreg import x`` counts as ``mreg.x``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(MODULES[name].read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in MODULES else node.module)
    return {module for module in found if module in MODULES and module != name and module != "mreg"}


GRAPH = {name: _imports(name) for name in MODULES}


def test_the_graph_sees_the_modules_it_checks():
    assert {"mreg.registry", "mreg.repository", "mreg.layout", "mreg.lineage.graph", "mreg.store.backends"} <= set(MODULES)
    assert "mreg.repository" in GRAPH["mreg.registry"]
    assert "mreg.lineage.render" in GRAPH["mreg.cli.lineage_cmds"]


def test_there_is_no_import_circle():
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            pytest.fail("import circle: " + " -> ".join(path[path.index(name):] + [name]))
        if name in done:
            return
        for imported in sorted(GRAPH[name]):
            visit(imported, path + [name])
        done.add(name)

    for name in sorted(GRAPH):
        visit(name, [])


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n not in ABOVE_FACADE and not n.startswith("mreg.cli")))
def test_nothing_below_the_facade_imports_it_or_the_cli(name):
    upward = {m for m in GRAPH[name] if m == "mreg.registry" or m.startswith("mreg.cli")}
    assert not upward, f"{name} imports {sorted(upward)}"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("mreg.store")))
def test_the_store_imports_only_itself_and_ground_modules(name):
    domain = {m for m in GRAPH[name] if not m.startswith("mreg.store") and m not in GROUND}
    assert not domain, f"{name} imports {sorted(domain)}"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("mreg.cli")))
def test_the_cli_goes_through_the_facade(name):
    around = {m for m in GRAPH[name] if not m.startswith("mreg.cli") and m not in CLI_ALLOWED}
    assert not around, f"{name} imports {sorted(around)}"


@pytest.mark.parametrize("name", ["mreg.lifecycle", "mreg.gates", "mreg.diff", "mreg.judge.pipeline", "mreg.judge.stats"])
def test_pure_modules_never_touch_the_store(name):
    def reach(module: str, seen: set[str]) -> set[str]:
        for imported in GRAPH[module] - seen:
            seen.add(imported)
            reach(imported, seen)
        return seen

    touched = {m for m in reach(name, set()) if m.startswith("mreg.store") or m == "mreg.repository"}
    assert not touched, f"{name} reaches {sorted(touched)}"


def test_the_cli_prints_json_only_through_results():
    """One JSON path: ``--json`` is ``Result.to_json_data()``, never a dump of the CLI's own."""
    offenders = [name for name in MODULES if name.startswith("mreg.cli") and "model_dump" in MODULES[name].read_text()]
    assert offenders == []


def _third_party_imports(name: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(MODULES[name].read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_nothing_imports_click_only_typer():
    """Typer bundles its own Click; importing the standalone one beside it broke GTO's CLI
    (and costs a second Click's import time on every completion)."""
    offenders = sorted(name for name in MODULES if "click" in _third_party_imports(name))
    assert not offenders, f"import typer, never click: {offenders}"
