"""A terminal scatter plot: accuracy (y) against MACs (x, log scale) in a fixed character grid.

Feasible trials draw as ``●``, trained ones that miss a bound as ``×``, the best feasible trial
as ``★``; when several trials share a cell the more important mark wins (best > feasible >
misses a bound). The constraint's accuracy bound is a dotted line ``┄``. The legend names only
the marks that are drawn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.text import Text

from genesynth import fmt
from genesynth.record.snapshot import Point

FEASIBLE, INFEASIBLE, BEST, BOUND = "●", "×", "★", "┄"
STYLES = {FEASIBLE: "green", INFEASIBLE: "red", BEST: "bold yellow", BOUND: "dim red"}
_RANK = {" ": 0, BOUND: 0, INFEASIBLE: 1, FEASIBLE: 2, BEST: 3}
LEGEND = {FEASIBLE: "feasible", INFEASIBLE: "misses a bound", BEST: "best"}
LABEL_WIDTH = 8  # "100.0 % " on the y axis


def _span(low: float, high: float, pad: float) -> tuple[float, float]:
    """A non-empty range around ``[low, high]``, widened by ``pad`` of its size."""
    if high - low < 1e-9:
        return low - 1.0, high + 1.0
    margin = (high - low) * pad
    return low - margin, high + margin


def _cell(value: float, low: float, high: float, cells: int) -> int:
    return min(cells - 1, max(0, round((value - low) / (high - low) * (cells - 1))))


def scatter(
    points: Sequence[Point], best: int | None = None, width: int = 48, height: int = 10,
    bound: float | None = None,
) -> Text:
    """The plot as rich Text: ``height`` rows, the axis, its labels and the legend (one or
    more lines), ``LABEL_WIDTH + width`` columns wide.

    ``best`` is the trial number to highlight; ``bound`` the accuracy bound (% top-1) drawn
    as a line. With no point the grid says so.
    """
    if not points:
        return Text("no measured candidate yet", style="dim")
    xs = [math.log10(p.macs) for p in points]
    ys = [p.accuracy for p in points]
    shown = ys + ([bound] if bound is not None else [])
    x_low, x_high = _span(min(xs), max(xs), 0.04)
    y_low, y_high = _span(min(shown), max(shown), 0.06)
    y_low, y_high = max(y_low, 0.0), min(y_high, max(100.0, max(ys)))  # percent stays 0..100
    grid = [[" "] * width for _ in range(height)]
    if bound is not None:
        grid[height - 1 - _cell(bound, y_low, y_high, height)] = [BOUND] * width
    for point, x, y in zip(points, xs, ys, strict=True):
        mark = BEST if point.number == best else FEASIBLE if point.feasible else INFEASIBLE
        row = height - 1 - _cell(y, y_low, y_high, height)
        col = _cell(x, x_low, x_high, width)
        if _RANK[mark] > _RANK[grid[row][col]]:
            grid[row][col] = mark
    text = Text()
    label_rows = {0: y_high, (height - 1) // 2: (y_low + y_high) / 2, height - 1: y_low}
    for r, cells in enumerate(grid):
        if r in label_rows:
            text.append(f"{fmt.percent(label_rows[r]):>{LABEL_WIDTH - 1}}┤", style="dim")
        else:
            text.append(" " * (LABEL_WIDTH - 1) + "│", style="dim")
        for mark in cells:
            text.append(mark, style=STYLES.get(mark, ""))
        text.append("\n")
    drawn = {mark for row in grid for mark in row}
    text.append_text(_x_axis(x_low, x_high, width))
    text.append_text(_legend(drawn, bound, LABEL_WIDTH + width))
    return text


def _x_axis(low: float, high: float, width: int) -> Text:
    """The axis line with three ticks and their MAC counts."""
    ticks = [0, (width - 1) // 2, width - 1]
    line = ["─"] * width
    for t in ticks:
        line[t] = "┬"
    labels = [" "] * (width + LABEL_WIDTH)
    for t in ticks:
        value = 10 ** (low + (high - low) * t / (width - 1))
        word = fmt.count(value)
        start = min(max(0, LABEL_WIDTH + t - len(word) // 2), len(labels) - len(word))
        labels[start:start + len(word)] = list(word)
    text = Text(" " * (LABEL_WIDTH - 1) + "└" + "".join(line) + "\n", style="dim")
    text.append("".join(labels).rstrip() + "\n", style="dim")
    return text


def _legend(drawn: set[str], bound: float | None, width: int) -> Text:
    """The marks that are drawn and what they mean, wrapped at ``width`` cells."""
    items = [(mark, LEGEND[mark]) for mark in (FEASIBLE, INFEASIBLE, BEST) if mark in drawn]
    if bound is not None:
        items.append((BOUND, fmt.bounds_text({"min_accuracy": bound})))
    items.append(("", "MACs (log)"))
    text = Text(" " * LABEL_WIDTH)
    used = LABEL_WIDTH
    for i, (mark, words) in enumerate(items):
        size = len(mark) + 1 + len(words) if mark else len(words)
        if i and used + 2 + size > width:
            text.append("\n" + " " * LABEL_WIDTH)
            used = LABEL_WIDTH
        elif i:
            text.append("  ")
            used += 2
        if mark:
            text.append(mark + " ", style=STYLES[mark])
        text.append(words, style="dim" if not mark else "")
        used += size
    return text
