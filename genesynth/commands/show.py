"""``genesynth show FILE|ARCH.json``: a per-module table (AttoNets' Table 1)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from genesynth.blocks import Traced, trace_parts
from genesynth.blocks.modules import module_kind
from genesynth.commands._common import add_overrides, fmt_shape, load, load_architecture, seed
from genesynth.net.arch import Architecture, ModuleSpec
from genesynth.net.summary import part_tokens


def add(subparsers: Any) -> None:
    p = subparsers.add_parser("show", help="show an architecture module by module")
    p.add_argument("file", help="prototype file (.gs) or architecture JSON")
    p.add_argument("--seed", type=seed, default=0, help="seed of the sample shown (default 0)")
    p.add_argument("--graph", metavar="FILE", type=Path,
                   help="also write the network's graph (layers, shortcuts, merges) for a "
                   "viewer: FILE.graphml (yEd, Gephi, Cytoscape) or FILE.dot (Graphviz)")
    add_overrides(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    console = Console()
    if args.file.endswith(".json"):
        arch = load_architecture(args.file)
        title = f"{arch.name} ({args.file})"
    else:
        proto = load(args)
        arch = proto.sample(args.seed)
        title = proto.name if proto.is_fixed else f"{proto.name}: a sample (seed {args.seed})"
    console.print(table(arch, title))
    if args.graph is not None:
        from genesynth.net.graph import write_graph

        print(f"wrote {write_graph(arch, args.graph)}")
    return 0


def table(arch: Architecture, title: str) -> Table:
    """The architecture as a rich Table: one row per part, then totals."""
    t = Table(title=title, show_footer=False)
    for name, justify in (("part", "left"), ("label", "left"), ("layers", "left"),
                          ("out", "right"), ("params", "right"), ("MACs", "right")):
        t.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    modules: list[ModuleSpec | None] = [None, *arch.modules, None]
    parts = trace_parts(arch)
    for part, module in zip(parts, modules, strict=True):
        label = part.label if module is None else f"{module.label} ({_kind(module)})"
        params, macs = sum(x.params for x in part.layers), sum(x.macs for x in part.layers)
        t.add_row(part.name, label, _summary(part.layers, module), fmt_shape(part.out_shape),
                  f"{params:,}", f"{macs:,}")
    everything = [x for part in parts for x in part.layers]
    t.add_row("total", "", "", "", f"{sum(x.params for x in everything):,}",
              f"{sum(x.macs for x in everything):,}", style="bold")
    return t


def _kind(module: ModuleSpec) -> str:
    kind = module_kind(module)
    return {"identity": "res id", "project": "res proj"}.get(kind.shortcut(module),
                                                              kind.canonical(module))


def _summary(layers: tuple[Traced, ...], module: ModuleSpec | None) -> str:
    """The layers that matter, named as in every other view (:mod:`genesynth.net.summary`)."""
    words = part_tokens(layers)
    if module is not None and module.shortcut == "project":
        words.append("proj")
    return " · ".join(words) or "-"
