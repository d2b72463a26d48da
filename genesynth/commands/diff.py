"""``genesynth diff A B``: two networks module by module (members, trials or JSON files)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.console import Console
from rich.table import Table


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "diff", help="compare two networks module by module",
        description="A per-module table of what differs between two networks (layers, widths, "
        "groups, kernels, strides, shortcut) with each side's params and MACs. A network is "
        "a family member RUN:B, a trial RUN#12, or an architecture .json file.",
    )
    p.add_argument("a", metavar="A", help="RUN:MEMBER, RUN#TRIAL or ARCH.json")
    p.add_argument("b", metavar="B", help="RUN:MEMBER, RUN#TRIAL or ARCH.json")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.add_argument("--all", action="store_true", help="show equal parts too")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from genesynth.human.compare import diff

    result = diff(args.a, args.b)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    Console().print(table(result, show_all=args.all))
    return 0


def table(result: Any, show_all: bool = False) -> Table:
    """Rows: the parts that differ (all with ``show_all``), then the totals."""
    data = result.to_dict()
    t = Table(title=f"A = {result.a_name}   B = {result.b_name}")
    for name, justify in (("part", "left"), ("differs", "left"), ("A layers", "left"),
                          ("B layers", "left"), ("A params", "right"), ("B params", "right"),
                          ("A MACs", "right"), ("B MACs", "right")):
        t.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    same = 0
    for part in result.parts:
        if not part.differs and not show_all:
            same += 1
            continue
        a, b = part.a, part.b
        t.add_row(part.part, ", ".join(part.differs) or "-", a.layers if a else "-",
                  b.layers if b else "-", _count(a.params if a else None),
                  _count(b.params if b else None), _count(a.macs if a else None),
                  _count(b.macs if b else None))
    t.add_row("total", f"{same} parts equal" if same else "", "", "",
              _count(data["a"]["params"]), _count(data["b"]["params"]),
              _count(data["a"]["macs"]), _count(data["b"]["macs"]), style="bold")
    return t


def _count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"
