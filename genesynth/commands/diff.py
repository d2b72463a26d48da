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
    console = Console()
    console.print(table(result, show_all=args.all, width=console.width))
    return 0


def table(result: Any, show_all: bool = False, width: int | None = None) -> Table:
    """The comparison as a table no wider than ``width`` where one can be.

    Two layouts: side by side (one row per part, A's and B's columns next to each other)
    and stacked (an A row and a B row per part, one layers/params/MACs column each). Of those
    that fit ``width`` with every number and word whole, the shorter one; stacked fits 80
    columns. Numbers never wrap; a column is never narrower than its longest word.
    """
    wide = _side_by_side(result, show_all)
    if width is None:
        return wide
    stacked = _stacked(result, show_all)
    fitting = [t for t in (wide, stacked) if _fit(t, width)]
    if not fitting:
        return stacked
    return min(fitting, key=lambda t: _height(t, width))


def _side_by_side(result: Any, show_all: bool) -> Table:
    rows = _rows(result, show_all)
    t = Table(title=_title(result))
    columns = (("part", "left"), ("differs", "left"), ("A layers", "left"),
               ("B layers", "left"), ("A params", "right"), ("B params", "right"),
               ("A MACs", "right"), ("B MACs", "right"))
    for i, (name, justify) in enumerate(columns):
        _column(t, name, justify, [r[i] for r, _ in rows], number=i >= 4)
    for cells, total in rows:
        t.add_row(*cells, style="bold" if total else None)
    return t


def _stacked(result: Any, show_all: bool) -> Table:
    rows = _rows(result, show_all)
    lines: list[tuple[tuple[str, ...], bool]] = [
        (line, total) for cells, total in rows for line in (
            (cells[0], cells[1], "A", cells[2], cells[4], cells[6]),
            ("", "", "B", cells[3], cells[5], cells[7]))]
    t = Table(title=_title(result))
    columns = (("part", "left"), ("differs", "left"), ("", "left"), ("layers", "left"),
               ("params", "right"), ("MACs", "right"))
    for i, (name, justify) in enumerate(columns):
        _column(t, name, justify, [line[i] for line, _ in lines], number=i >= 4)
    for n, (line, total) in enumerate(lines):
        t.add_row(*line, style="bold" if total else None,
                  end_section=n % 2 == 1 and n < len(lines) - 1)
    return t


def _rows(result: Any, show_all: bool) -> list[tuple[tuple[str, ...], bool]]:
    """(part, differs, A layers, B layers, A params, B params, A MACs, B MACs), is-total."""
    data = result.to_dict()
    rows: list[tuple[tuple[str, ...], bool]] = []
    same = 0
    for part in result.parts:
        if not part.differs and not show_all:
            same += 1
            continue
        a, b = part.a, part.b
        rows.append(((part.part, ", ".join(part.differs) or "-", a.layers if a else "-",
                      b.layers if b else "-", _count(a.params if a else None),
                      _count(b.params if b else None), _count(a.macs if a else None),
                      _count(b.macs if b else None)), False))
    rows.append((("total", f"{same} parts equal" if same else "", "", "",
                  _count(data["a"]["params"]), _count(data["b"]["params"]),
                  _count(data["a"]["macs"]), _count(data["b"]["macs"])), True))
    return rows


def _title(result: Any) -> str:
    return f"A = {result.a_name}   B = {result.b_name}"


def _column(t: Table, name: str, justify: str, cells: list[str], number: bool) -> None:
    """A column no narrower than its longest word (a whole number, for numbers)."""
    longest = max((len(w) for text in [name, *cells] for w in text.split()), default=1)
    whole = max(len(text) for text in [name, *cells])
    t.add_column(name, justify=justify, no_wrap=number,  # type: ignore[arg-type]
                 min_width=whole if number else longest)


def _fit(t: Table, width: int) -> bool:
    """Fix ``t``'s column widths to fit ``width`` with no word split; False where none can.

    Each column gets its longest word (numbers: their whole width); the rest of the width
    goes to the widest columns first, as far as each needs (a water level over the columns).
    """
    console = Console(width=10_000)
    ranges = [t._measure_column(console, console.options, c) for c in t.columns]
    room = width - t._extra_width
    if sum(r.minimum for r in ranges) > room:
        return False
    level = max(r.maximum for r in ranges)
    while sum(max(r.minimum, min(r.maximum, level)) for r in ranges) > room:
        level -= 1
    for column, r in zip(t.columns, ranges, strict=True):
        column.width = max(r.minimum, min(r.maximum, level)) - 2  # less the cell's padding
    return True


def _height(t: Table, width: int) -> int:
    console = Console(width=width)
    return len(console.render_lines(t, console.options, pad=False))


def _count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"
