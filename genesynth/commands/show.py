"""``genesynth show FILE|ARCH.json``: a per-module table (AttoNets' Table 1)."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console
from rich.table import Table

from genesynth.arch import Architecture, LayerSpec, ModuleSpec
from genesynth.commands._common import add_overrides, fmt_shape, load, load_architecture, seed
from genesynth.costs import breakdown


def add(subparsers: Any) -> None:
    p = subparsers.add_parser("show", help="show an architecture module by module")
    p.add_argument("file", help="prototype file (.gs) or architecture JSON")
    p.add_argument("--seed", type=seed, default=0, help="seed of the sample shown (default 0)")
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
    return 0


def table(arch: Architecture, title: str) -> Table:
    """The architecture as a rich Table: one row per part, then totals."""
    t = Table(title=title, show_footer=False)
    for name, justify in (("part", "left"), ("label", "left"), ("layers", "left"),
                          ("out", "right"), ("params", "right"), ("MACs", "right")):
        t.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    modules: list[ModuleSpec | None] = [None, *arch.modules, None]
    parts = breakdown(arch)
    layers = [arch.stem, *(m.layers for m in arch.modules), arch.head]
    for part, module, items in zip(parts, modules, layers, strict=True):
        label = part.label if module is None else f"{module.label} ({_kind(module)})"
        t.add_row(part.part, label, _summary(items, module), fmt_shape(part.out_shape),
                  f"{part.params:,}", f"{part.macs:,}")
    t.add_row("total", "", "", "", f"{sum(p.params for p in parts):,}",
              f"{sum(p.macs for p in parts):,}", style="bold")
    return t


def _kind(module: ModuleSpec) -> str:
    if module.kind == "residual":
        return {"identity": "res id", "project": "res proj", "none": "seq"}[module.shortcut]
    return module.kind


def _summary(layers: tuple[LayerSpec, ...], module: ModuleSpec | None) -> str:
    words = [w for w in (_word(layer) for layer in layers) if w]
    if module is not None and module.shortcut == "project":
        words.append("proj")
    return " · ".join(words) or "-"


def _word(layer: LayerSpec) -> str:
    if layer.kind in ("bn", "relu", "relu6", "identity"):
        return ""
    if layer.kind != "conv":
        out = layer.get("out")
        return f"{layer.kind} {out}" if out is not None else layer.kind
    # a hand-written architecture may leave settings at their defaults
    k, out, groups, stride = (layer.get(n, d) for n, d in
                              (("kernel", 3), ("out", "in"), ("groups", 1), ("stride", 1)))
    stride_text = f" s{stride}" if stride != 1 else ""
    if k == 1:
        return f"pw {out}{'/' + str(groups) if groups != 1 else ''}{stride_text}"
    if groups == out:
        return f"dw{k}x{k}{stride_text}"
    prefix = "g" if groups != 1 else ""
    return f"{prefix}{k}x{k} {out}{'/' + str(groups) if groups != 1 else ''}{stride_text}"
