"""Each panel is a pure function of the snapshot: render it and read the text."""

from __future__ import annotations

import pytest

from genesynth import fmt
from genesynth.dashboard import panels
from genesynth.dashboard.pareto import BEST, FEASIBLE, INFEASIBLE, scatter
from genesynth.events import Event
from genesynth.record.snapshot import Point, RunState
from tests.dashboard.recorded import render
from tests.record.test_snapshot import build


def test_numbers_for_humans() -> None:
    assert [fmt.count(v) for v in (812, 4_510, 45_100, 456_000, 999_600, 1_200_000, 1.5e9,
                                   None)] == [
        "812", "4.51K", "45.1K", "456K", "1.00M", "1.20M", "1.50G", "–"]
    assert [fmt.count(v, fixed=False) for v in (812, 300_000, 7_200_000, 5e6, 1.5e9)] == [
        "812", "300K", "7.2M", "5M", "1.5G"]
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
    assert "8/10 trials" in text and "elapsed 1m 21s" in text
    assert "ETA ~30.2 s" in text and "search ~7.5 s" in text and "family ~22.7 s" in text
    assert "per trained trial 6.5 s" in text
    assert "complete 3" in text and "rejected 1" in text and "invalid 1" in text
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
    assert "m0" not in text and "… 2 more modules" in text
    text = render(panels.candidate_panel(build(midrun), max_modules=2))
    assert "m01" in text and "m02" in text and "more" not in text


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
    assert len(lines) == 6 + 2 + 2  # the legend takes two lines at this width
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


def test_family_forms_during_the_search(midrun: list[Event]) -> None:
    text = render(panels.family_panel(build(midrun)))
    assert "family forming · best of 2 MACs bands" in text
    rows = [line.split() for line in text.splitlines() if "%" in line]
    assert rows == [["│", "A", "0", "97.2", "%", "45.1K", "1.20M", "71.4", "│"],
                    ["│", "B", "3", "95.0", "%", "20.0K", "500K", "75.0", "│"]]


def test_empty_state_renders_every_panel() -> None:
    state = RunState()
    for panel in (panels.header_panel, panels.progress_panel, panels.candidate_panel,
                  panels.leaderboard_panel, panels.pareto_panel, panels.family_panel):
        assert render(panel(state)).strip()


def test_leaderboard_hides_latency_when_none_was_measured(events: list[Event]) -> None:
    assert "0.41 ms" in render(panels.leaderboard_panel(build(events)))
    unmeasured = [e for e in events if getattr(e, "number", None) != 0]
    text = render(panels.leaderboard_panel(build(unmeasured)))
    assert "latency" not in text and " ms" not in text and "NetScore" in text


def test_header_shows_the_constraints_bounds(events: list[Event]) -> None:
    text = render(panels.header_panel(build(events), width=80), width=80)
    assert "constraint constraints/digits.toml   top-1 ≥ 90 %   MACs ≤ 50.0M" in text
    assert fmt.bounds_text({"min_accuracy": 65.0, "max_params": 200_000, "max_latency_ms": 1.0}
                           ) == "top-1 ≥ 65 %, params ≤ 200K, latency ≤ 1.00 ms"


def test_plot_draws_the_accuracy_bound_and_names_only_drawn_marks() -> None:
    points = [Point(0, 1_000, 50.0, True), Point(1, 1_000_000, 90.0, True)]
    lines = scatter(points, best=1, width=30, height=9, bound=70.0).plain.splitlines()
    assert lines[4] == " 70.0 %┤" + "┄" * 30  # 70 % halfway between 50 and 90
    legend = "\n".join(lines[-2:])
    assert "● feasible" in legend and "★ best" in legend and "┄ top-1 ≥ 70 %" in legend
    assert "×" not in legend  # no trained network missed a bound


REASON = ("a smaller member needs MACs <= 431,308, but the prototype's smallest network has "
          "about 476,192 MACs")


@pytest.mark.parametrize("width", [80, 140])
def test_the_familys_reason_is_shown_whole(events: list[Event], width: int) -> None:
    from genesynth.events import SearchNotExtended

    state = build([*events, SearchNotExtended(1, 4, REASON)])
    text = render(panels.header_panel(state, width=width), width=width)
    flat = " ".join("".join(ch for ch in line if ch not in "│╭╮╰╯─").strip()
                    for line in text.splitlines())
    assert ("family: the family has 1 of 4 members; no further search: " + REASON) in " ".join(
        flat.split())


def test_the_familys_reason_is_said_again_after_the_live_view_closes() -> None:
    from genesynth.commands.synthesize import said_after
    from genesynth.events import SearchNotExtended

    assert said_after(SearchNotExtended(1, 4, REASON)) == [
        "family: the family has 1 of 4 members; no further search: " + REASON]
