"""RunState: a snapshot built from events, and from an Optuna study."""

from __future__ import annotations

import io

import pytest

from genesynth.events import Event, RunFinished
from genesynth.record.snapshot import RunState


def build(events: list[Event]) -> RunState:
    state = RunState()
    for event in events:
        state.apply(event)
    return state


def test_header_and_counts(events: list[Event]) -> None:
    state = build(events)
    assert (state.prototype, state.constraint, state.data, state.sampler, state.seed) == (
        "prototypes/atto.gs", "constraints/digits.toml", "digits", "tpe", 7)
    assert state.out == "runs/t" and state.planned == 10 and state.done == 10
    assert state.counts == {"complete": 5, "pruned": 1, "infeasible": 1, "failed": 1,
                            "duplicate": 1, "invalid": 1}
    assert state.finished and not state.interrupted and not state.running


def test_leaderboard_is_feasible_complete_by_utility(events: list[Event]) -> None:
    state = build(events)
    assert [row.number for row in state.leaderboard()] == [3, 8, 0, 9]
    assert [row.number for row in state.leaderboard(2)] == [3, 8]
    assert state.best is not None and state.best.accuracy == 95.0


def test_points_have_accuracy_and_macs(events: list[Event]) -> None:
    points = {p.number: p for p in build(events).points}
    assert set(points) == {0, 3, 7, 8, 9}  # not the pruned trial's partial accuracy
    assert not points[7].feasible and points[3].feasible and points[3].macs == 500_000


def test_mid_run_candidate_elapsed_and_eta(midrun: list[Event]) -> None:
    state = build(midrun)
    assert state.done == 8 and state.elapsed == pytest.approx(81.0)
    # Trials 0, 1, 3 and 7 trained (8.2 + 4.0 + 6.0 + 7.8 s); the rejections' 0 s and trial
    # 4, failed before an epoch, are left out of the mean.
    assert state.mean_seconds == pytest.approx(26.0 / 4)
    # The search: trial 8's last epoch at its own pace (1 s), one trial not started (6.5 s);
    # then the family of two (tests/dashboard/test_eta.py checks the retraining part).
    assert state.estimate.search == pytest.approx(7.5)
    assert state.eta == pytest.approx(7.5 + state.estimate.family)
    cand = state.candidate
    assert cand is not None and cand.number == 8 and cand.state == "running"
    assert (cand.epoch, cand.epochs, cand.loss, cand.accuracy) == (1, 2, 0.7, 90.0)
    assert cand.params == 30_000 and len(cand.modules) == 2


def test_finished_candidate_stays_with_its_state(midrun: list[Event], events: list[Event]
                                                 ) -> None:
    state = build(events[:len(midrun) + 2])  # trial 8's second epoch and its end
    cand = state.candidate
    assert cand is not None and cand.number == 8 and cand.state == "complete"
    assert cand.accuracy == 96.0 and state.running == {}


def test_family_member_by_member(events: list[Event]) -> None:
    index = next(i for i, e in enumerate(events) if type(e).__name__ == "MemberStarted"
                 and e.label == "B")  # type: ignore[union-attr]
    state = build(events[:index + 2])
    assert [m.status for m in state.family.values()] == ["done", "training"]
    assert state.family["B"].epoch == 1 and state.family["B"].accuracy == 91.0
    state = build(events)
    a = state.family["A"]
    assert (a.trial, a.accuracy, a.params, a.macs, a.utility, a.feasible) == (
        3, 95.5, 20_000, 500_000, 75.2, True)
    assert state.family_epochs == 3


def test_interrupted(midrun: list[Event]) -> None:
    state = build([*midrun, RunFinished("runs/t", 0, interrupted=True, time=1090.0)])
    assert state.finished and state.interrupted and state.candidate is not None


def test_unknown_state_counts_as_failed(events: list[Event]) -> None:
    from genesynth.events import TrialFinished

    state = build([events[0], TrialFinished(1, "weird")])
    assert state.counts["failed"] == 1


def test_skipped_samples_are_counted_apart_from_the_trials(events: list[Event]) -> None:
    from genesynth.dashboard.plain import PlainLog, summary_lines
    from genesynth.events import TrialFinished
    from genesynth.record.trial import TrialState

    skipped = TrialFinished(10, TrialState.SKIPPED, key="k", params=9, macs=60_000_000,
                            reason="MACs 60.0M > 50.0M")
    state = build([*events[:-1], skipped, skipped, events[-1]])
    assert state.skipped == 2 and state.done == 10 and len(state.trials) == 10
    assert "trials: complete 5 pruned 1 infeasible 1 failed 1 duplicate 1 invalid 1; skipped "\
        "samples 2" in summary_lines(state)
    log = PlainLog(io.StringIO())
    for event in [*events[:-1], skipped]:
        log(event)
    assert "skipped" not in log.stream.getvalue()  # type: ignore[attr-defined]


def _feasible(number: int, accuracy: float, params: int, macs: int, utility: float) -> Event:
    from genesynth.events import TrialFinished

    return TrialFinished(number, "complete", f"k{number}", accuracy, params, macs, None, utility,
                         True, "", 1.0, 0.0)


def test_the_family_forms_as_the_engine_forms_it_dominated_trials_first_removed() -> None:
    # Trial 1 has the best NetScore of the small band, but trial 4 beats it on top-1, params
    # and MACs: the engine never takes trial 1, and neither does the panel (it showed 1 as B).
    state = build([_feasible(0, 95.0, 100_000, 1_000_000, 80.0),
                   _feasible(1, 90.0, 60_000, 500_000, 85.0),
                   _feasible(4, 92.0, 50_000, 450_000, 84.0)])
    assert [row.number for row in state.forming(2)] == [0, 4]


def test_forming_is_the_engines_selection() -> None:
    from genesynth.net.arch import Architecture, LayerSpec
    from genesynth.synth.family import Candidate, select

    stem = (LayerSpec.of("conv", out=8, kernel=3, stride=1, groups=1, padding=1, bias=True),)
    arch = Architecture("t", (1, 8, 8), 10, stem, (), (LayerSpec.of("gap"),))
    rows = [(n, 88.0 + n * 37 % 11, 10_000 + n * 7919 % 90_000,
             300_000 + n * 104_729 % 4_000_000, 70.0 + n * 13 % 25) for n in range(40)]
    state = build([_feasible(*row) for row in rows])
    engine = select([Candidate(n, arch, a, p, m, u) for n, a, p, m, u in rows], 4)
    assert [row.number for row in state.forming(4)] == [c.trial for c in engine]
    assert len(engine) == 4
