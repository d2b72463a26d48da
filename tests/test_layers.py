"""The one-way flow of the package, checked on the source: no import circle, no part importing
against the flow, and what the light packages load when imported.

The flow, from the bottom up (docs/architecture.md draws the map)::

    errors, limits, spec, fmt, urls, events   the ground: no genesynth package below them
    blocks, data                               layer kinds; data readers
    net                                        architecture, costs, builder, summary, graph,
                                               Measurement
    goal                                       constraint, utility (they read a Measurement)
    dsl -> space                               the language; the search space
    latency                                    measured, or predicted from a table; the kit
    evaluate                                   evaluators, the evaluation cache
    storage, record                            study storages; the run record
    synth/samplers -> synth                    samplers; the engine, its setup and workers
    human, export, report                      read a run's record; never run the engine
    dashboard, commands, cli                   the views

Every import in genesynth/ is read with ``ast``: at module level, inside a function, or under
``if TYPE_CHECKING:`` (a type-only import still ties two modules together). ``from p import x``
is an import of the module ``p.x`` when it exists, else of ``p`` itself (its ``__init__``).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1] / "genesynth"
VIEWS = ("genesynth.dashboard", "genesynth.report", "genesynth.commands", "genesynth.cli")
HEAVY = ("torch", "optuna")


def _module(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, module: str, modules: set[str]) -> set[str]:
    """What the import statements of ``path`` import: ``a.b`` for ``import a.b``; for
    ``from p import x``, the module ``p.x`` when there is one, else ``p`` itself."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            for alias in node.names:
                name = f"{base}.{alias.name}"
                found.add(name if name in modules else base)
    return found


def read_package(root: Path) -> dict[str, set[str]]:
    """Module name -> what it imports (see :func:`_imports`), for every module under root."""
    paths = {_module(p, root): p for p in sorted(root.rglob("*.py"))}
    return {module: _imports(path, module, set(paths)) for module, path in paths.items()}


def module_graph(imports: dict[str, set[str]]) -> nx.DiGraph:
    """Module -> the modules of the same package it imports."""
    graph = nx.DiGraph()
    graph.add_nodes_from(imports)
    graph.add_edges_from((module, name) for module, names in imports.items()
                         for name in names if name in imports and name != module)
    return graph


def circles(graph: nx.DiGraph) -> list[str]:
    """Each set of modules that import each other, as one readable circle through them."""
    found = []
    for component in nx.strongly_connected_components(graph):
        if len(component) > 1:
            ordered = nx.DiGraph(sorted(graph.subgraph(component).edges))  # the same every run
            names = [a for a, _ in nx.find_cycle(ordered, source=min(component))]
            first = names.index(min(names))
            names = names[first:] + names[:first]
            found.append(" -> ".join([*names, names[0]]))
    return sorted(found)


NAMES = read_package(ROOT)


def _under(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def test_no_import_circle() -> None:
    assert circles(module_graph(NAMES)) == []


def test_a_circle_through_a_function_or_type_import_is_found(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("from pkg.sub.b import B\n")
    (package / "a.py").write_text("def f():\n    from pkg.sub import b\n")
    (package / "sub" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .. import a\nB = 1\n")
    (package / "sub" / "c.py").write_text("from pkg.sub import B\n")
    graph = module_graph(read_package(package))
    assert circles(graph) == ["pkg.a -> pkg.sub.b -> pkg.a"]
    assert graph.has_edge("pkg.sub.c", "pkg.sub")  # a name from the package's __init__
    assert not graph.has_edge("pkg.a", "pkg.sub")  # a module of the package


ALL_BUT_VIEWS = tuple(sorted({m for m in NAMES if m != "genesynth" and not _under(m, VIEWS)}))
# the engine's modules, less the samplers and the static bounds both use
ENGINE = tuple(sorted(m for m in NAMES if _under(m, ("genesynth.synth",))
                      and m not in ("genesynth.synth", "genesynth.synth.static")
                      and not _under(m, ("genesynth.synth.samplers",))))


@pytest.mark.parametrize(("importer", "forbidden"), [
    # views listen; nothing below them imports one (the root only maps its public names)
    (ALL_BUT_VIEWS, VIEWS),
    # the language knows nothing of sampling, the engine, evaluation, the record or torch
    (("genesynth.dsl",), (*HEAVY, "genesynth.space", "genesynth.synth", "genesynth.evaluate",
                          "genesynth.record", "genesynth.net.builder", "genesynth.data",
                          "genesynth.blocks.torch_modules")),
    # the search space is sampled by the engine; it does not know the engine or torch
    (("genesynth.space",), (*HEAVY, "genesynth.synth", "genesynth.evaluate",
                            "genesynth.record", "genesynth.net.builder", "genesynth.data",
                            "genesynth.blocks.torch_modules")),
    # the run record is written by the engine and read by the views; it needs neither
    (("genesynth.record",), ("genesynth.synth", "genesynth.evaluate", "genesynth.space",
                             "genesynth.data")),
    # the study storages serve the engine and the record alike
    (("genesynth.storage",), ("genesynth.synth", "genesynth.record", "genesynth.evaluate",
                              "genesynth.space", "genesynth.dsl")),
    # evaluators are called by the engine; they know neither it nor its record
    (("genesynth.evaluate",), ("genesynth.synth", "genesynth.record", "genesynth.storage")),
    # the network knows neither the language, the search, its goal nor how it is evaluated
    (("genesynth.net",), ("genesynth.dsl", "genesynth.space", "genesynth.goal",
                          "genesynth.evaluate", "genesynth.synth", "genesynth.record",
                          "genesynth.storage", "genesynth.data")),
    # a goal reads a Measurement: it sits just above the network, below all that searches
    (("genesynth.goal",), (*HEAVY, "genesynth.dsl", "genesynth.space", "genesynth.evaluate",
                           "genesynth.synth", "genesynth.record", "genesynth.storage",
                           "genesynth.data", "genesynth.blocks", "genesynth.net.builder")),
    # samplers are handed to the engine; they know nothing of it
    (("genesynth.synth.samplers",), ENGINE),
    # the human loop, the exports and the report read a run's record; they never run the
    # engine (int8 export loads the run's data with data.described)
    (("genesynth.human", "genesynth.export", "genesynth.report"),
     ("genesynth.synth", "genesynth.storage")),
    # layer kinds and data readers are the ground floor
    (("genesynth.blocks", "genesynth.data"), ("genesynth.dsl", "genesynth.space",
                                              "genesynth.evaluate", "genesynth.synth",
                                              "genesynth.record", "genesynth.storage")),
])
def test_no_import_against_the_flow(importer: tuple[str, ...], forbidden: tuple[str, ...]
                                    ) -> None:
    wrong = sorted(f"{module} imports {name}" for module, names in NAMES.items()
                   if _under(module, importer) for name in names if _under(name, forbidden))
    assert wrong == []


def test_the_reader_sees_every_kind_of_import() -> None:
    assert "genesynth.events" in NAMES["genesynth.record.snapshot"]  # module level
    assert "optuna.trial" in NAMES["genesynth.record.reader"]  # inside a function
    assert "optuna" in NAMES["genesynth.record.reader"]  # under TYPE_CHECKING


LOADS = """
import importlib, pkgutil, sys
package = importlib.import_module(sys.argv[1])
for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
    importlib.import_module(info.name)
print(" ".join(sorted(name for name in sys.modules if name.split(".")[0] in sys.argv[2:]
                      or any(name.startswith(p) for p in sys.argv[2:] if "." in p))))
"""


@pytest.mark.parametrize(("package", "forbidden"), [
    ("genesynth.dsl", HEAVY),
    ("genesynth.space", HEAVY),
    ("genesynth.goal", HEAVY),
    ("genesynth.record", (*HEAVY, "rich", "genesynth.dashboard", "genesynth.commands")),
])
def test_importing_a_light_package_loads_nothing_heavy(package: str,
                                                       forbidden: tuple[str, ...]) -> None:
    """Every module of ``package`` imported in a fresh interpreter: none of ``forbidden``
    (directly or through anything they import) is loaded."""
    done = subprocess.run([sys.executable, "-c", LOADS, package, *forbidden],
                          capture_output=True, text=True, cwd=ROOT.parent, check=True)
    assert done.stdout.split() == []


def test_the_map_names_every_folder() -> None:
    """docs/architecture.md, the map of the package, names every folder of it."""
    text = (ROOT.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    folders = sorted({str(p.parent.relative_to(ROOT)) for p in ROOT.rglob("*.py")} - {"."})
    assert [f for f in folders if f"{f}/" not in text] == []
