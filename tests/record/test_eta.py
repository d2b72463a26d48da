"""The ETA covers the whole job, from what training has cost in the run so far."""

from __future__ import annotations

import io

import pytest

from genesynth.dashboard.panels import status
from genesynth.dashboard.plain import PlainLog
from genesynth.events import (
    EpochDone,
    Event,
    FamilyStarted,
    MemberDone,
    MemberEpoch,
    MemberStarted,
    RunStarted,
    SearchExtended,
    TrialFinished,
    TrialStarted,
)
from genesynth.record.eta import EpochCost, epoch_cost
from genesynth.record.snapshot import TrialRow
from tests.record.test_snapshot import build


def _trained(number: int, start: float, macs: int, per_epoch: float, utility: float,
             accuracy: float = 95.0) -> list[Event]:
    """A feasible trial of two epochs taking ``per_epoch`` seconds each."""
    return [
        TrialStarted(number, f"k{number}", (), 1_000, macs, 2, time=start),
        EpochDone(number, 1, 2, 1.0, 90.0, time=start + per_epoch),
        EpochDone(number, 2, 2, 0.5, 95.0, time=start + 2 * per_epoch),
        TrialFinished(number, "complete", f"k{number}", accuracy, 1_000, macs, None, utility, True,
                      seconds=2 * per_epoch, time=start + 2 * per_epoch),
    ]


def _rejected(number: int, at: float) -> list[Event]:
    return [TrialStarted(number, f"k{number}", (), 1_000, 9_000_000, 2, time=at),
            TrialFinished(number, "infeasible", f"k{number}", params=1_000, macs=9_000_000,
                          reason="MACs 9.00M > 5.00M", time=at)]


START = RunStarted("p.gs", "c.toml", "digits", "tpe", 0, "runs/x", 6, time=100.0,
                   max_macs=5_000_000, epochs=2, family_size=2, full_epochs=10)


def run_so_far() -> list[Event]:
    """Two trained trials (1M MACs at 2 s/epoch, 3M at 4 s/epoch) and two rejections."""
    return [START, *_trained(0, 100, 1_000_000, 2.0, 70.0), *_rejected(1, 104),
            *_rejected(2, 104), *_trained(3, 104, 3_000_000, 4.0, 60.0, accuracy=97.0)]


def test_rejections_do_not_make_a_trial_look_cheaper() -> None:
    state = build(run_so_far())
    assert state.mean_seconds == pytest.approx((4.0 + 8.0) / 2)  # not 12 s / 4 trials
    assert state.estimate.search == pytest.approx(2 * 6.0)  # 2 trials left, each trains


def test_retraining_is_costed_per_epoch_from_the_trials() -> None:
    state = build(run_so_far())
    # Seconds per epoch: 2 at 1M MACs, 4 at 3M: 1 s + 1 s per million MACs.
    assert epoch_cost(state.trials) == EpochCost(pytest.approx(1.0), pytest.approx(1e-6))
    # The family forming: trial 3 (3M, 97 %) and trial 0 (1M, 95 %), 10 epochs each.
    assert [row.number for row in state.forming(2)] == [3, 0]
    assert state.estimate.family == pytest.approx(10 * 4.0 + 10 * 2.0)
    assert state.eta == pytest.approx(12.0 + 60.0)


def test_a_running_trial_and_a_training_member_go_at_their_own_pace() -> None:
    events = [*run_so_far(), TrialStarted(4, "k4", (), 1_000, 2_000_000, 2, time=112),
              EpochDone(4, 1, 2, 1.0, 80.0, time=117)]
    state = build(events)
    assert state.estimate.search == pytest.approx(5.0 + 6.0)  # its last epoch, one trial
    events = [*run_so_far(), *_trained(4, 112, 2_000_000, 3.0, 50.0),
              *_trained(5, 118, 2_000_000, 3.0, 50.0),
              FamilyStarted(("A", "B"), 10, time=124),
              MemberStarted("A", 3, 1_000, 3_000_000, 10, time=124),
              MemberEpoch("A", 1, 10, 1.0, 90.0, time=129)]
    state = build(events)
    assert state.estimate.search == 0.0
    # A: 9 epochs at its own 5 s; B, not started, 10 epochs at the model's 1M-MAC cost.
    assert state.estimate.family == pytest.approx(9 * 5.0 + 10 * 2.0)
    events += [MemberDone("A", 3, 95.0, 1_000, 3_000_000, None, 60.0, True, time=170),
               MemberStarted("B", 0, 1_000, 1_000_000, 10, time=170)]
    assert build(events).estimate.family == pytest.approx(10 * 2.0)


def test_cost_model_falls_back_to_the_mean_epoch() -> None:
    rows = [TrialRow(0, "complete", macs=1_000_000, seconds=6.0, epochs=2),
            TrialRow(1, "complete", macs=3_000_000, seconds=4.0, epochs=2)]
    assert epoch_cost(rows) == EpochCost(2.5)  # bigger cheaper: no slope
    assert epoch_cost(rows[:1]) == EpochCost(3.0)
    assert epoch_cost([TrialRow(2, "infeasible", macs=9_000_000)]) is None


def test_unknown_until_a_trial_trained() -> None:
    state = build([START, *_rejected(0, 100)])
    assert state.estimate.search is None and state.eta is None


def test_the_plain_log_gives_the_whole_jobs_eta() -> None:
    stream = io.StringIO()
    log = PlainLog(stream)
    for event in run_so_far():
        log(event)
    assert stream.getvalue().splitlines()[-1].endswith("[4/6, ETA 1m 12s]")


def _reused(number: int, at: float, macs: int, utility: float) -> list[Event]:
    return [TrialStarted(number, f"k{number}", (), 1_000, macs, 2, time=at),
            TrialFinished(number, "complete", f"k{number}", 95.0, 1_000, macs, None, utility,
                          True, "reused: runs/a trial 3", 0.0, at, reused=True)]


def test_a_cached_rerun_is_estimated_at_its_real_short_time() -> None:
    # Today: "ETA ~6m 40s" for a re-run done in 2m 34s -- every trial came from the cache.
    events = [START, *_reused(0, 100.0, 1_000_000, 70.0), *_reused(1, 100.1, 3_000_000, 60.0)]
    state = build(events)
    assert state.reused == 2
    assert state.estimate.search == 0.0  # the rest is expected from the cache too
    # Half the trials reused: the other half of the trials left is expected to train.
    half = build([START, *_trained(0, 100, 1_000_000, 2.0, 70.0), *_reused(1, 104, 3_000_000,
                                                                           60.0)])
    assert half.estimate.search == pytest.approx(4 * 0.5 * 4.0)


def test_members_the_cache_holds_and_a_short_family_cost_no_retraining() -> None:
    state = build([*run_so_far(), FamilyStarted(("A", "B"), 10, time=112.0, cached=("B",))])
    alone = build([*run_so_far(), FamilyStarted(("A",), 10, time=112.0)])
    assert state.estimate.family == pytest.approx(alone.estimate.family)
    # Before the family is made: the members the rule would make now, not the family's size.
    one = build([START, *_trained(0, 100, 1_000_000, 2.0, 70.0)])
    assert [row.number for row in one.forming(2)] == [0]
    assert one.estimate.family == pytest.approx(10 * 2.0)


def test_a_phase_below_the_retrained_family_is_searching_and_costs_the_members_it_may_add(
) -> None:
    retrained = [*run_so_far(), FamilyStarted(("A",), 10, time=112),
                 MemberStarted("A", 0, 1_000, 1_000_000, 10, time=112),
                 MemberDone("A", 0, 98.0, 1_000, 1_000_000, None, 80.0, True, time=132)]
    below = SearchExtended(8, 800_000, 1, 1, time=132, wanted=2, retrained=True)
    state = build([*retrained, below])
    assert status(state).plain == "searching below the retrained family"
    assert state.estimate.search == pytest.approx(4 * 6.0)  # trials 4-7, at the mean trial
    # the member the phase may add: 10 epochs at the smallest member's 1M MACs (2 s/epoch)
    assert state.estimate.family == pytest.approx(10 * 2.0)
    # the phase's network retrained beside A, which stays as it was retrained
    state = build([*retrained, below, FamilyStarted(("A", "B"), 10, time=150, retrained=("A",)),
                   MemberStarted("B", 5, 500, 500_000, 10, time=150)])
    assert status(state).plain == "retraining the family"
    assert (state.family["A"].status, state.family["A"].accuracy) == ("done", 98.0)
    assert state.estimate.search == 0.0
    assert state.estimate.family == pytest.approx(10 * 1.5)  # B only: 1 s + 0.5 s
    stream = io.StringIO()
    log = PlainLog(stream)
    for event in (below, FamilyStarted(("A", "B"), 10, time=150, retrained=("A",))):
        log(event)
    assert stream.getvalue().splitlines() == [
        "family: search extended (phase 1): the retrained family has 1 of 2 members; up to "
        "trial 8 with MACs <= 800,000, below its members",
        "family: retraining B for 10 epochs; A as retrained before the phase"]
