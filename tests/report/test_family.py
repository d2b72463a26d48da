"""The family side by side and the module stacks in report.md."""

from __future__ import annotations

from dataclasses import dataclass

import genesynth
from genesynth import fmt
from genesynth.net.arch import Architecture
from genesynth.net.costs import breakdown
from genesynth.report.family import side_by_side_section, stacks_section

PROTO = """
network stack {
  input 1x8x8
  classes 10
  stem { conv(out=8) bn relu }
  modules {
    module a: seq { conv(out=16, kernel=3, stride=1) bn relu }
    module b: seq { conv(out=32, kernel=3, stride=2) bn relu }
  }
  head { gap linear(out=classes) }
}
"""


@dataclass(frozen=True)
class Item:
    name: str
    arch: Architecture | None


def _archs() -> tuple[Architecture, Architecture]:
    big = genesynth.parse_prototype(PROTO).sample()
    small = genesynth.parse_prototype(PROTO.replace("out=32", "out=8")
                                      .replace("out=16", "out=8")).sample()
    return big, small


def test_members_side_by_side_with_each_parts_cost() -> None:
    big, small = _archs()
    lines = side_by_side_section([Item("A", big), Item("B", small)])
    assert lines[1] == "## Family side by side"
    table = lines[lines.index("| Part | A | B |"):]
    costs = {c.part: c for c in breakdown(big)}
    assert table[2] == ("| stem | 3x3 8 → 8x8x8<br>88 params, 4.61K MACs | "
                        "3x3 8 → 8x8x8<br>88 params, 4.61K MACs |")
    assert costs["stem"].params == 88 and costs["stem"].macs == 4608
    m02 = costs["m02"]
    assert (m02.params, m02.macs) == (16 * 32 * 9 + 64, 16 * 32 * 9 * 16)
    assert table[4].startswith(f"| m02 | 3x3 32 s2 → 32x4x4<br>{fmt.count(m02.params)} params, "
                               f"{fmt.count(m02.macs)} MACs |")
    totals = [(sum(c.params for c in breakdown(a)), sum(c.macs for c in breakdown(a)))
              for a in (big, small)]
    assert table[-1] == ("| **total** | " + " | ".join(
        f"{fmt.count(p)} params, {fmt.count(m)} MACs" for p, m in totals) + " |")
    assert side_by_side_section([Item("A", big)]) == []  # one member: its own table suffices


def test_the_stacks_picture_marks_widths_and_strides() -> None:
    big, small = _archs()
    lines = stacks_section([Item("A", big), Item("B", small), Item("C", None)])
    picture = lines[lines.index("```") + 1:-1]
    assert picture == [
        "      A                  B",
        "m01   " + "█" * 6 + " " * 8 + "16   " + "█" * 3 + " " * 12 + "8",
        "m02  v" + "█" * 12 + "  32  v" + "█" * 3 + " " * 12 + "8",
    ]
