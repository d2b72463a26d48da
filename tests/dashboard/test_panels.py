"""Each panel is a pure function of the snapshot: render it and read the text."""

from __future__ import annotations

from genesynth import fmt
from genesynth.dashboard import panels
from genesynth.dashboard.pareto import BEST, FEASIBLE, INFEASIBLE, scatter
from genesynth.events import Event
from genesynth.record.snapshot import Point, RunState
from tests.dashboard.recorded import render
from tests.record.test_snapshot import build


def test_numbers_for_humans() -> None:
    assert [fmt.count(v) for v in (812, 4_510, 45_100, 456_000, 1_200_000, None)] == [
        "812", "4.51K", "45.1K", "456K", "1.20M", "–"]
    assert fmt.percent(97.22) == "97.2 %" and fmt.percent(97.222, 2, space=False) == "97.22%"
    assert [fmt.duration(s) for s in (8.2, 185, 7440)] == ["8.2 s", "3m 05s", "2h 04m"]
    assert fmt.latency(0.41) == "0.41 ms" and fmt.score(71.43) == "71.4"


def test_header(events: list[Event]) -> None:
    text = render(panels.header_panel(build(events)))
    for word in ("prototypes/atto.gs", "constraints/digits.toml", "digits", "tpe", "seed 7",
                 "runs/t", "finished"):
        assert word in text


def test_progress_mid_run(midrun: list[Event]) -> None:
    text = render(panels.progress_panel(build(midrun)))
    assert "8/10 trials" in text and "ETA ~7.0 s" in text and "elapsed 1m 21s" in text
    assert "complete 3" in text and "infeasible 1" in text and "invalid 1" in text
    assert "best trial 3" in text and "NetScore 75.0" in text and "95.0 %" in text


def test_progress_before_any_trial(events: list[Event]) -> None:
    text = render(panels.progress_panel(build(events[:1])))
    assert "0/10 trials" in text and "no feasible candidate yet" in text


def test_candidate(midrun: list[Event]) -> None:
    text = render(panels.candidate_panel(build(midrun)))
    assert "trial 8" in text and "running" in text and "epoch 1/2" in text
    assert "params 30.0K" in text and "MACs 800K" in text
    assert "loss 0.700" in text and "val 90.0 %" in text
    assert "m01 atto   pw24 > g3x3/4 24 s2 > pw32  +proj" in text


def test_candidate_cuts_long_module_lists(midrun: list[Event]) -> None:
    text = render(panels.candidate_panel(build(midrun), max_modules=1))
    assert "m02" not in text and "… 1 more modules" in text


def test_leaderboard_order(events: list[Event]) -> None:
    text = render(panels.leaderboard_panel(build(events)))
    rows = [line for line in text.splitlines() if "%" in line]
    assert [row.split()[2] for row in rows] == ["3", "8", "0", "9"]
    assert "75.0" in rows[0] and "95.0 %" in rows[0] and "20.0K" in rows[0]
    assert "500K" in rows[0] and "0.41 ms" in rows[2]
    assert "NetScore" in text and "latency" in text


def test_pareto_marks_and_axes(events: list[Event]) -> None:
    text = render(panels.pareto_panel(build(events), width=40, height=8))
    assert text.count(BEST) == 2  # the plot and the legend
    assert FEASIBLE in text and INFEASIBLE in text and "MACs (log)" in text
    assert sum("%┤" in line for line in text.splitlines()) == 3  # y: top, middle, bottom
    ticks = next(line for line in text.splitlines() if "└" in line)
    labels = text.splitlines()[text.splitlines().index(ticks) + 1].split()
    assert labels[1].endswith("K") and labels[-2].endswith("M")  # 75K .. 11M around the data


def test_scatter_grid_is_fixed_size() -> None:
    points = [Point(0, 1_000, 50.0, False), Point(1, 1_000_000, 90.0, True),
              Point(2, 10_000, 70.0, True)]
    lines = scatter(points, best=1, width=30, height=6).plain.splitlines()
    assert len(lines) == 6 + 3
    assert all(len(line) <= 8 + 30 for line in lines[:7])
    assert BEST in lines[0] and INFEASIBLE in lines[5]  # highest and lowest accuracy
    assert lines[0].index(BEST) > lines[5].index(INFEASIBLE)  # more MACs to the right


def test_scatter_empty() -> None:
    assert "no measured candidate" in scatter([]).plain


def test_family(events: list[Event]) -> None:
    text = render(panels.family_panel(build(events)))
    assert "family · 3 epochs" in text
    a = next(line for line in text.splitlines() if " A " in line)
    assert "done" in a and "95.5 %" in a and "20.0K" in a and "500K" in a and "75.2" in a
    assert "✓" in a


def test_family_before_retraining(midrun: list[Event]) -> None:
    assert "retrained after the search" in render(panels.family_panel(build(midrun)))


def test_empty_state_renders_every_panel() -> None:
    state = RunState()
    for panel in (panels.header_panel, panels.progress_panel, panels.candidate_panel,
                  panels.leaderboard_panel, panels.pareto_panel, panels.family_panel):
        assert render(panel(state)).strip()
