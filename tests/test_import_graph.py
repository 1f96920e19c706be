"""The import graph of the four packages: imports go one way, and no module imports back.

``DESIGN.md`` §2: ``jax2d`` <- ``kinetix`` <- ``baselines`` <- ``harness``, and inside
``harness`` one subpackage per concept, layered the same way (each subpackage's ``__init__``
docstring says what it may import)::

    harness.levels, harness.bench    (lowest; each imports only jax2d / kinetix / baselines)
    harness.submissions              (+ levels)
    harness.scoring                  (+ submissions)
    harness.leaderboard              (+ scoring; the submission queue lives here)
    harness.commands                 (+ leaderboard, bench: the CLI's command groups)
    harness.cli                      (+ commands)
    harness                          (the root ``__init__``: lazy re-exports of them all)

The graph is read with the stdlib ``ast`` from the source files, nothing is imported. An edge
``A -> B`` is any ``import B`` / ``from B import x`` (``from P import m`` with ``P.m`` a module
counts as ``P.m``; relative imports are resolved), wherever the statement is: at module level,
inside a function, under ``if TYPE_CHECKING:`` or in a ``try``. A deferred import is still a
dependency, and an import moved into a function to break a circle only hides the circle, so
"no module imports one that imports it back" is checked on all of them. The lazy re-export
tables of package ``__init__`` files (``_EXPORTS = {"name": "module", ...}``) count as imports
of the modules they name. Two things are not edges: the implicit import of a parent package
when a submodule is imported (``import harness.levels.hub`` runs ``harness/levels/__init__``:
an edge from every module to its own package would make every package a circle), and dynamic
imports by computed name (the CLI's ``COMMAND_MODULES`` table is checked by its own tests).

Checked: every edge goes to the same unit (a top-level package; for ``harness``, one subpackage
or ``harness.cli``) or to a lower layer; no strongly connected component has more than one
module; every ``harness`` module belongs to a unit of the table above.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("jax2d", "kinetix", "baselines", "harness")

#: unit -> layer; a module may import its own unit and any unit of a LOWER layer.
LAYERS: dict[str, int] = {
    "jax2d": 0,
    "kinetix": 1,
    "baselines": 2,
    "harness.levels": 3,
    "harness.bench": 3,
    "harness.submissions": 4,
    "harness.scoring": 5,
    "harness.leaderboard": 6,
    "harness.commands": 7,
    "harness.cli": 8,
    "harness": 9,
}


# ------------------------------------------------------------------------------- the graph
def find_modules(root: Path, packages: Iterable[str] = PACKAGES) -> dict[str, tuple[Path, bool]]:
    """``{dotted module name: (file, is_package)}`` of every ``.py`` file under the packages."""
    mods = {}
    for pkg in packages:
        for f in sorted((root / pkg).rglob("*.py")):
            parts = list(f.relative_to(root).with_suffix("").parts)
            is_pkg = parts[-1] == "__init__"
            if is_pkg:
                parts = parts[:-1]
            mods[".".join(parts)] = (f, is_pkg)
    return mods


def _owner(name: str, mods) -> str | None:
    """The module of ours that ``name`` (a module or ``module.attribute``) lives in."""
    while name and name not in mods:
        name = name.rpartition(".")[0]
    return name or None


def _imported_names(module: str, is_pkg: bool, node) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:
        base = module.split(".") if is_pkg else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        prefix = ".".join(base + ([node.module] if node.module else []))
    else:
        prefix = node.module or ""
    return [f"{prefix}.{a.name}" for a in node.names]  # the owner lookup trims attributes


def _lazy_table(tree: ast.Module) -> list[str]:
    """Module names in an ``_EXPORTS = {"name": "module"}`` table at module level."""
    out = []
    for node in tree.body:
        value = None
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "_EXPORTS" for t in node.targets
        ):
            value = node.value
        elif isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == "_EXPORTS":
            value = node.value
        if isinstance(value, ast.Dict):
            out += [v.value for v in value.values if isinstance(v, ast.Constant)]
    return out


def import_graph(root: Path, packages: Iterable[str] = PACKAGES) -> dict[str, dict[str, int]]:
    """``{module: {imported module of ours: line}}`` (see the module docstring for what counts)."""
    mods = find_modules(root, packages)
    graph: dict[str, dict[str, int]] = {}
    for name, (path, is_pkg) in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges: dict[str, int] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for imported in _imported_names(name, is_pkg, node):
                    target = _owner(imported, mods)
                    if target is not None and target != name:
                        edges.setdefault(target, node.lineno)
        for target in _lazy_table(tree):
            owner = _owner(target, mods)
            if owner is not None and owner != name:
                edges.setdefault(owner, 0)
        graph[name] = edges
    return graph


def unit_of(module: str) -> str | None:
    """The layer unit of a module: its top-level package, or for ``harness`` its subpackage."""
    parts = module.split(".")
    if parts[0] != "harness":
        return parts[0] if parts[0] in LAYERS else None
    if len(parts) == 1:
        return "harness"
    unit = f"harness.{parts[1]}"
    return unit if unit in LAYERS else None


def layer_violations(graph: dict[str, dict[str, int]]) -> list[str]:
    out = []
    for a, edges in sorted(graph.items()):
        ua = unit_of(a)
        if ua is None:
            out.append(f"{a}: in no layer (put it in a subpackage listed in LAYERS)")
            continue
        for b, line in sorted(edges.items()):
            ub = unit_of(b)
            if ub is None or ub == ua:
                continue
            if LAYERS[ub] >= LAYERS[ua]:
                out.append(
                    f"{a} (line {line}) imports {b}: {ua} (layer {LAYERS[ua]}) may not import "
                    f"{ub} (layer {LAYERS[ub]})"
                )
    return out


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        found.append(sorted(comp))
    return found


def _describe(comp: list[str], graph) -> str:
    inside = set(comp)
    links = [f"{a} -> {b} (line {graph[a][b]})" for a in comp for b in graph[a] if b in inside]
    return "circle: " + "; ".join(sorted(links))


# ------------------------------------------------------------------------------- the tests
@pytest.fixture(scope="module")
def graph():
    return import_graph(ROOT)


def test_the_graph_sees_the_tree(graph):
    assert "harness.cli" in graph and "jax2d" in graph
    assert any(unit_of(m) == "harness.levels" for m in graph)
    # a function-level import is an edge too
    assert "harness.scoring.pipeline" in graph
    assert "harness.levels.loading" in graph["harness.scoring.pipeline"]


def test_imports_go_one_way(graph):
    problems = layer_violations(graph)
    assert not problems, "imports against the layers:\n" + "\n".join(problems)


def test_no_module_imports_one_that_imports_it_back(graph):
    found = cycles(graph)
    assert not found, "import circles:\n" + "\n".join(_describe(c, graph) for c in found)


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text))
    return tmp_path


def test_the_check_finds_circles_and_upward_imports(tmp_path):
    root = _tree(
        tmp_path,
        {
            "jax2d/__init__.py": "",
            "jax2d/a.py": "def f():\n    from jax2d import b\n",  # deferred: still an edge
            "jax2d/b.py": "from . import a\n",
            "kinetix/__init__.py": "",
            "kinetix/x.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from harness.levels.y import Y\n",
            "baselines/__init__.py": "",
            "harness/__init__.py": '_EXPORTS = {"Y": "harness.levels.y"}\n',
            "harness/loose.py": "",
            "harness/levels/__init__.py": '_EXPORTS = {"Y": "harness.levels.y"}\n',
            "harness/levels/y.py": "import kinetix\nfrom harness.levels import Y\n",
        },
    )
    g = import_graph(root)
    assert g["jax2d.a"] == {"jax2d.b": 2} and g["jax2d.b"] == {"jax2d.a": 1}
    assert g["harness"] == {"harness.levels.y": 0}
    found = cycles(g)
    assert ["jax2d.a", "jax2d.b"] in found
    assert ["harness.levels", "harness.levels.y"] in found  # a module importing its package
    problems = layer_violations(g)
    assert any(p.startswith("kinetix.x (line 3) imports harness.levels.y") for p in problems)
    assert any(p.startswith("harness.loose: in no layer") for p in problems)
    assert not any(p.startswith("harness.levels.y") for p in problems)  # kinetix is lower
