"""pareto.png as a figure: what is drawn, what the legend says, and where it sits."""

from __future__ import annotations

import pytest

pytest.importorskip("matplotlib")

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from genesynth.events import Event  # noqa: E402
from genesynth.report.entries import Entry  # noqa: E402
from genesynth.report.plots import pareto_figure  # noqa: E402
from tests.record.test_snapshot import build  # noqa: E402

MEMBER = Entry("A", 95.5, 20_000, 500_000, 0.3, 75.2, True, trial=3, val_accuracy=95.0)


def _points(fig: Figure) -> set[tuple[float, float]]:
    ax = fig.axes[0]
    return {(round(float(x)), round(float(y), 2))
            for c in ax.collections for x, y in c.get_offsets()}


def _legend(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.legends[0].get_texts()] if fig.legends else []


def test_pruned_trials_are_not_drawn(events: list[Event]) -> None:
    fig = pareto_figure(build(events), [MEMBER], [])
    assert (1_200_000, 40.0) not in _points(fig)  # trial 1, pruned after one epoch at 40 %
    assert (90_000, 60.0) in _points(fig)  # trial 7 trained and missed the accuracy bound


def test_legend_lists_the_series_drawn_and_covers_no_point(events: list[Event]) -> None:
    fig = pareto_figure(build(events), [MEMBER], [])
    assert _legend(fig) == ["misses a bound", "feasible", "constraint: top-1 ≥ 90 %",
                            "family in the search (validation)", "family retrained (test)"]
    FigureCanvasAgg(fig).draw()
    legend = fig.legends[0].get_window_extent()
    assert not legend.overlaps(fig.axes[0].get_window_extent())
    only_feasible = [e for e in events if getattr(e, "number", None) != 7]
    assert _legend(pareto_figure(build(only_feasible), [], [])) == [
        "feasible", "constraint: top-1 ≥ 90 %"]


def test_a_supernet_runs_trials_are_labelled_as_scores(events: list[Event]) -> None:
    from dataclasses import replace

    from genesynth.events import RunStarted

    scored = [replace(e, measure="score") if isinstance(e, RunStarted) else e for e in events]
    assert _legend(pareto_figure(build(scored), [MEMBER], [])) == [
        "misses a bound (score)", "feasible (score)", "constraint: top-1 ≥ 90 %",
        "family in the search (score)", "family retrained (test)"]


def test_members_search_and_retrained_accuracies_are_joined(events: list[Event]) -> None:
    ax = pareto_figure(build(events), [MEMBER], []).axes[0]
    lines = [(list(line.get_xdata()), list(line.get_ydata())) for line in ax.get_lines()]
    assert ([500_000, 500_000], [95.0, 95.5]) in lines  # validation ring to test star
    assert ([0, 1], [90.0, 90.0]) in lines  # the accuracy bound across the axes
    assert {(500_000, 95.0), (500_000, 95.5)} <= _points(ax.figure)  # type: ignore[arg-type]
