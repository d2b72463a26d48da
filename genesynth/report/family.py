"""The family as papers show it: members side by side, module by module, and their stacks.

Two sections of ``report.md`` (see :mod:`genesynth.report.markdown`):

- *Family side by side* — AttoNets' Table 1 for the whole family: one row per part (stem,
  ``m01`` ..., head), one column per member, each cell the part's layers and its cost;
- *Module stacks* — a picture, in text so that it shows wherever Markdown does, of each
  member's stack: one bar per module, as long as its output width, marked where it strides.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from genesynth import fmt

BAR = 12  # characters of the family's widest module's bar


def _parts(arch: Any) -> dict[str, tuple[str, tuple[int, ...], int, int, int]]:
    """Part name -> (layers, output shape, params, MACs, stride of the part)."""
    from genesynth.blocks import trace_parts
    from genesynth.net.costs import breakdown
    from genesynth.net.summary import part_layers

    found = {}
    for part, cost in zip(trace_parts(arch), breakdown(arch), strict=True):
        stride = 1
        if len(part.in_shape) == 3 and len(cost.out_shape) == 3 and cost.out_shape[1]:
            stride = max(1, part.in_shape[1] // cost.out_shape[1])
        found[part.name] = (part_layers(part.layers), cost.out_shape, cost.params, cost.macs,
                            stride)
    return found


def _order(names: Sequence[str]) -> list[str]:
    return sorted(dict.fromkeys(names), key=lambda n: (n != "stem", n == "head", n))


def side_by_side_section(members: Sequence[Any]) -> list[str]:
    """One table, members as columns (each needs ``name`` and ``arch``)."""
    shown = [m for m in members if getattr(m, "arch", None) is not None]
    if len(shown) < 2:
        return []
    parts = [_parts(m.arch) for m in shown]
    names = _order([n for p in parts for n in p])
    head = ("Part", *(fmt.markdown(m.name) for m in shown))
    rows = []
    for name in names:
        cells = []
        for p in parts:
            if name not in p:
                cells.append(fmt.DASH)
                continue
            layers, out, params, macs, _ = p[name]
            shape = "x".join(str(v) for v in out)
            cells.append(f"{layers} → {shape}<br>{fmt.count(params)} params, "
                         f"{fmt.count(macs)} MACs")
        rows.append((name, *cells))
    totals = [f"{fmt.count(sum(v[2] for v in p.values()))} params, "
              f"{fmt.count(sum(v[3] for v in p.values()))} MACs" for p in parts]
    rows.append(("**total**", *totals))
    lines = ["", "## Family side by side", "",
             "Each member's parts as in AttoNets' Table 1: the layers that matter (`pw` "
             "pointwise, `gKxK/G` grouped, `dw` depthwise, `s2` stride 2), the output, and "
             "the part's parameters and MACs.", ""]
    return lines + _table(head, rows)


def stacks_section(members: Sequence[Any]) -> list[str]:
    """A text picture of the members' module stacks side by side: width bars, stride marks."""
    shown = [m for m in members if getattr(m, "arch", None) is not None]
    if not shown:
        return []
    parts = [_parts(m.arch) for m in shown]
    modules = [n for n in _order([n for p in parts for n in p]) if n not in ("stem", "head")]
    widest = max((p[n][1][0] for p in parts for n in modules if n in p and p[n][1]), default=1)
    lines = ["", "## Module stacks", "",
             "Each member's modules top to bottom, one bar per module as long as its output "
             "width (on one scale for the family); `v` marks a module that halves the map "
             "(stride 2).", "", "```",
             "    " + "".join(f"  {m.name:<{BAR + 5}}" for m in shown).rstrip()]
    for n in modules:
        cells = []
        for p in parts:
            if n not in p or not p[n][1]:
                cells.append(" " * (BAR + 7))
                continue
            width, stride = p[n][1][0], p[n][4]
            bar = "█" * max(1, round(BAR * width / max(1, widest)))
            cells.append(f"  {'v' if stride > 1 else ' '}{bar:<{BAR}} {width:>3}")
        lines.append(f"{n}{''.join(cells)}".rstrip())
    return [*lines, "```"]


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return lines
