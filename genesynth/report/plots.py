"""The report's plots, drawn with matplotlib's Agg backend (``genesynth[report]``).

``pareto.png``: top-1 accuracy against MACs on a log axis, marker area by parameters, for the
trials that finished their training (a pruned trial's accuracy is partial: it is not drawn):
feasible ones in colour, those that miss a bound in grey; the accuracy bound as a dashed line;
each family member twice, joined — its validation accuracy in the search (a ring) and its
test accuracy after retraining (a labelled star); baselines as diamonds. The legend names only
the series drawn, below the axes where it covers no point. ``history.png``: each trial's
utility and the best feasible utility so far.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from genesynth import fmt
from genesynth.record.layout import HISTORY_FILE, PARETO_FILE
from genesynth.record.snapshot import RunState, TrialRow
from genesynth.record.trial import TrialState
from genesynth.report.entries import Entry

Triple = tuple[list[float], list[float], list[float]]


def _xy(items: Sequence[TrialRow | Entry]) -> Triple:
    """MACs, accuracies and parameter counts of the items that have all three."""
    keep = [i for i in items if i.macs and i.accuracy is not None and i.params is not None]
    return ([float(i.macs or 0) for i in keep], [float(i.accuracy or 0) for i in keep],
            [float(i.params or 0) for i in keep])


def _sizes(params: Sequence[float], largest: float) -> list[float]:
    return [20.0 + 220.0 * (p / max(largest, 1.0)) ** 0.5 for p in params]


def _label(ax: Axes, names: Sequence[str], x: list[float], y: list[float], **style: Any) -> None:
    for name, xi, yi in zip(names, x, y, strict=True):
        ax.annotate(name, (xi, yi), textcoords="offset points", **style)


def pareto_figure(state: RunState, members: Sequence[Entry], baselines: Sequence[Entry]) -> Figure:
    """Accuracy (y) against MACs (x, log scale) of every trial that finished its training (a
    supernet run's trials at their scores, said in the legend: ``state.measure``)."""
    scored = "" if state.measure == "top-1" else f" ({state.measure})"
    fig = Figure(figsize=(7.5, 5.6), dpi=120, layout="constrained")
    ax = fig.add_subplot()
    trained = [t for t in state.trials if t.state == TrialState.COMPLETE]
    feasible = _xy([t for t in trained if t.feasible])
    missed = _xy([t for t in trained if not t.feasible])
    largest = max(feasible[2] + missed[2] + _xy(baselines)[2], default=1.0)
    if missed[0]:
        ax.scatter(missed[0], missed[1], s=_sizes(missed[2], largest), color="0.75",
                   edgecolors="0.55", linewidths=0.6, alpha=0.7, label=f"misses a bound{scored}")
    if feasible[0]:
        ax.scatter(feasible[0], feasible[1], s=_sizes(feasible[2], largest), color="tab:blue",
                   edgecolors="navy", linewidths=0.6, alpha=0.7, label=f"feasible{scored}")
    bound = state.bounds.get("min_accuracy")
    if bound is not None:
        ax.axhline(bound, color="tab:red", linestyle="--", linewidth=1,
                   label=f"constraint: {fmt.bounds_text({'min_accuracy': bound})}")
    _family(ax, members, {t.number: t for t in state.trials}, scored or " (validation)")
    marked = [e for e in baselines if e.macs and e.accuracy is not None]
    if marked:
        x, y, _ = _xy(marked)
        ax.scatter(x, y, marker="D", s=70, color="black", zorder=3, label="baselines")
        _label(ax, [e.name for e in marked], x, y, xytext=(6, -12), fontsize=8)
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt.count(v)))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("MACs (log scale)")
    ax.set_ylabel("top-1 accuracy (%)")
    ax.set_title("Accuracy against MACs (marker area: parameters)")
    ax.grid(True, which="major", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        fig.legend(loc="outside lower center", ncols=3, fontsize=8, markerscale=0.6,
                   frameon=False)
    return fig


def _family(ax: Axes, members: Sequence[Entry], trials: dict[int, TrialRow], searched_as: str
            ) -> None:
    """Each member's search (validation) ring and retrained (test) star, joined by a line."""
    shown = [e for e in members if e.macs and e.accuracy is not None]
    if not shown:
        return
    x, y, _ = _xy(shown)
    searched = [(xi, _search_accuracy(e, trials), yi) for e, xi, yi in zip(shown, x, y,
                                                                          strict=True)]
    joined = [(xi, v, yi) for xi, v, yi in searched if v is not None]
    for xi, v, yi in joined:
        ax.plot([xi, xi], [v, yi], color="darkred", linewidth=1, zorder=2)
    if joined:
        ax.scatter([j[0] for j in joined], [j[1] for j in joined], marker="o", s=60,
                   facecolors="none", edgecolors="darkred", linewidths=1.2, zorder=3,
                   label=f"family in the search{searched_as}")
    ax.scatter(x, y, marker="*", s=260, color="tab:red", edgecolors="darkred", zorder=4,
               label="family retrained (test)")
    _label(ax, [e.name for e in shown], x, y, xytext=(6, 6), fontweight="bold", color="darkred")


def _search_accuracy(member: Entry, trials: dict[int, TrialRow]) -> float | None:
    """The member's validation accuracy in the search: family.json's, else its trial's."""
    if member.val_accuracy is not None:
        return member.val_accuracy
    row = trials.get(member.trial) if member.trial is not None else None
    return row.accuracy if row is not None else None


def history_figure(state: RunState) -> Figure:
    """Each complete trial's utility and the best feasible utility so far, by trial number."""
    fig = Figure(figsize=(7.5, 4.0), dpi=120)
    ax = fig.add_subplot()
    rows = sorted((t for t in state.trials if t.utility is not None), key=lambda t: t.number)
    for feasible, color, marker, label in ((True, "tab:blue", "o", "feasible"),
                                           (False, "0.6", "x", "infeasible")):
        pick = [t for t in rows if t.feasible == feasible]
        if pick:
            ax.scatter([t.number for t in pick], [t.utility or 0.0 for t in pick], color=color,
                       marker=marker, s=18, alpha=0.7, label=label)
    best: float | None = None
    xs, ys = [], []
    for t in sorted(state.trials, key=lambda t: t.number):
        if t.feasible and t.utility is not None:
            best = t.utility if best is None else max(best, t.utility)
        if best is not None:
            xs.append(t.number)
            ys.append(best)
    if xs:
        ax.step(xs, ys, where="post", color="tab:red", linewidth=2,
                label=f"best feasible {state.utility_name}")
    ax.set_xlabel("trial")
    ax.set_ylabel(state.utility_name)
    ax.set_title(f"Best feasible {state.utility_name} over the search")
    ax.grid(True, alpha=0.3)
    if rows:
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def write_plots(run_dir: Path, state: RunState, members: Sequence[Entry],
                baselines: Sequence[Entry]) -> list[Path]:
    """Write ``pareto.png`` and ``history.png`` into ``run_dir``; returns their paths."""
    paths = [run_dir / PARETO_FILE, run_dir / HISTORY_FILE]
    pareto_figure(state, members, baselines).savefig(paths[0])
    history_figure(state).savefig(paths[1])
    return paths
