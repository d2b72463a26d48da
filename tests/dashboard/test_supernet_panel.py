"""The supernet phase on the live dashboard: its own panel (epoch and step progress, the
largest network's loss and top-1, training time, ETA) until the first candidate, and the run's
ETA made of the supernet's training left, then scores, then the family."""

from __future__ import annotations

import io

from rich.console import Console

from genesynth.dashboard import Dashboard, panels
from genesynth.events import (
    EpochDone,
    Event,
    FamilyStarted,
    MemberEpoch,
    MemberStarted,
    RunStarted,
    SupernetProgress,
    TrialFinished,
    TrialStarted,
)
from genesynth.record.eta import estimate
from tests.dashboard.recorded import render
from tests.dashboard.test_live import last_frame
from tests.record.test_snapshot import build

START = RunStarted("prototypes/attonet16.gs", "constraints/digits.toml", "digits", "bayes", 0,
                   "runs/attonet16", 10, time=1000.0, epochs=1, family_size=2, full_epochs=3)
#: Four epochs of 12 steps: the first took 40 s, the second is half done 20 s later.
TRAINING: list[Event] = [
    START,
    SupernetProgress(0, 4, time=1001.0),
    SupernetProgress(0, 4, seconds=10.0, eta=150.0, step=3, steps=12, time=1011.0),
    SupernetProgress(1, 4, loss=1.25, accuracy=61.5, seconds=40.0, eta=120.0, time=1041.0),
    SupernetProgress(1, 4, seconds=60.0, eta=100.0, step=6, steps=12, time=1061.0),
]


def score(number: int, at: float, seconds: float) -> list[Event]:
    return [TrialStarted(number, f"k{number}", (), 1_000, 100_000, 1, time=at),
            EpochDone(number, 1, 1, None, 40.0, time=at + seconds),
            TrialFinished(number, "complete", f"k{number}", 40.0, 1_000, 100_000, None, 50.0,
                          True, seconds=seconds, time=at + seconds)]


def test_the_panel_shows_epoch_and_step_progress_at_80_columns() -> None:
    text = render(panels.candidate_panel(build(TRAINING), width=80), width=80)
    assert text.splitlines() == [
        "╭─ supernet · training · before the search ────────────────────────────────────╮",
        "│ epoch 1/4 " + "━" * 21 + "╺" + "━" * 34 + " step 6/12 │",  # 1.5 of 4 epochs
        "│ loss 1.2500   largest val 61.5 %   trained 1m 00s   ETA ~1m 40s              │",
        "╰──────────────────────────────────────────────────────────────────────────────╯",
    ]


def test_the_eta_is_the_supernets_pace_then_scores_then_members() -> None:
    state = build(TRAINING)
    # 1.5 epochs in 60 s: 2.5 epochs left take 100 s; nothing scored or retrained yet
    assert (estimate(state).supernet, estimate(state).search, estimate(state).total) == (
        100.0, None, None)
    assert estimate(state).at_least == 100.0
    assert panels.eta_items(state) == [("ETA", "≥1m 40s"), ("supernet", "~1m 40s")]
    assert "training the supernet" in render(panels.header_panel(state))

    ready = build([*TRAINING, SupernetProgress(4, 4, seconds=170.0, ready=True, time=1171.0),
                   *score(0, 1171.0, 1.0), *score(1, 1172.0, 3.0)])
    est = estimate(ready)
    assert (est.supernet, est.search) == (0.0, 8 * 2.0)  # 8 scores of 2 s, not a training
    assert est.family is None  # a score says nothing of a training epoch's cost
    assert "supernet trained in 2m 50s" in render(panels.progress_panel(ready))
    assert "per score 2.0 s" in render(panels.progress_panel(ready))

    family = build([*TRAINING, SupernetProgress(4, 4, seconds=170.0, ready=True, time=1171.0),
                    *(e for n in range(10) for e in score(n, 1171.0 + 2 * n, 2.0)),
                    FamilyStarted(("A", "B"), 3, time=1200.0),
                    MemberStarted("A", 0, 1_000, 100_000, 3, time=1200.0),
                    MemberEpoch("A", 1, 3, 1.0, 80.0, time=1230.0)])
    assert estimate(family).family == 2 * 30.0 + 3 * 30.0  # A: 2 epochs left, B: 3 waiting
    assert estimate(family).total == 150.0


def test_a_loaded_supernet_says_so() -> None:
    state = build([START, SupernetProgress(4, 4, seconds=0.4, ready=True, loaded=True,
                                           time=1001.0)])
    assert estimate(state).supernet == 0.0
    assert "supernet · loaded · before the search" in render(panels.supernet_panel(state))
    assert "supernet loaded" in render(panels.progress_panel(state))
    assert "searching" in render(panels.header_panel(state))


def test_the_live_dashboard_shows_the_phase_in_the_candidates_place() -> None:
    for width in (80, 120):  # the narrow layout and the wide one
        console = Console(width=width, height=30, record=True, file=io.StringIO(),
                          force_terminal=True)
        with Dashboard(console, clock=None) as dashboard:
            dashboard.replay(TRAINING)
        frame = last_frame(console)
        assert "training the supernet" in frame and "supernet · training" in frame
        assert "step 6/12" in frame and "largest val 61.5 %" in frame
        assert "waiting for the first candidate" not in frame


def test_a_supernet_runs_trials_are_called_scores_not_accuracies() -> None:
    from dataclasses import replace

    from genesynth.report.markdown import search_section
    from tests.dashboard.test_plain import log_of

    events = [replace(START, measure="score"), *score(0, 1100.0, 2.0)]
    state = build(events)
    lines = [line for line in log_of(events) if line.startswith("trial 0 complete")]
    assert lines[0].startswith(
        "trial 0 complete score 40.00% params 1.00K MACs 100K NetScore 50.0 feasible (2.0 s)")
    board = render(panels.leaderboard_panel(state, width=80), width=80)
    assert "score" in board and "top-1" not in board
    forming = render(panels.family_panel(state), width=80)  # the family to be: scores too
    assert "score" in forming and " val " not in forming
    retraining = build([*events, FamilyStarted(("A",), 3, time=1200.0),
                        MemberStarted("A", 0, 1_000, 100_000, 3, time=1200.0)])
    members = render(panels.family_panel(retraining), width=80)  # trained alone: top-1
    assert "top-1" in members and "score" not in members
    assert "score 40.00 %" in "\n".join(search_section(state))
    trained = build([START, *score(0, 1100.0, 2.0)])  # a training run: top-1, as before
    assert "top-1" in render(panels.leaderboard_panel(trained, width=80), width=80)
