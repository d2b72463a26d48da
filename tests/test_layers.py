"""The one-way flow of DESIGN.md, checked on the source: no part imports against it.

Every import in genesynth/ (module level or inside a function) is read with ``ast``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "genesynth"
VIEWS = ("genesynth.dashboard", "genesynth.report", "genesynth.report_plots",
         "genesynth.commands", "genesynth.cli")


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


GRAPH = {_module(p): _imports(p) for p in ROOT.rglob("*.py")}


def _under(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


@pytest.mark.parametrize(("importer", "forbidden"), [
    (("genesynth.synth", "genesynth.record", "genesynth.evaluate"), VIEWS),
    (("genesynth.dsl",), ("torch", "optuna", "genesynth.builder",
                          "genesynth.blocks.torch_modules")),
    (("genesynth.record",), ("genesynth.dashboard",)),
])
def test_no_import_against_the_flow(importer: tuple[str, ...], forbidden: tuple[str, ...]
                                    ) -> None:
    wrong = sorted(f"{module} imports {name}" for module, names in GRAPH.items()
                   if _under(module, importer) for name in names if _under(name, forbidden))
    assert wrong == []


def test_the_graph_reads_the_package() -> None:
    assert "genesynth.events" in GRAPH["genesynth.record.trial"]
