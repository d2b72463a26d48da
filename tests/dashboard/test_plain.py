"""The plain log: one line per event, never an ANSI code."""

from __future__ import annotations

import io

import pytest

from genesynth.dashboard.plain import PlainLog, summary_lines
from genesynth.events import (
    EpochDone,
    Event,
    MemberDropped,
    MemberRenamed,
    RunFinished,
    RunStarted,
    SearchExtended,
    SearchNotExtended,
    TrialFinished,
)
from tests.record.test_snapshot import build


def log_of(events: list[Event]) -> list[str]:
    stream = io.StringIO()
    with PlainLog(stream) as log:
        for event in events:
            log(event)
    text = stream.getvalue()
    assert "\x1b" not in text
    return text.splitlines()


def test_one_line_per_event_without_ansi(events: list[Event]) -> None:
    lines = log_of(events)
    assert len(lines) == len(events)
    assert lines[0].startswith("run runs/t: prototype prototypes/atto.gs constraint")
    assert "trial 0 complete acc 97.22% params 45.1K MACs 1.20M latency 0.41 ms NetScore 71.4 "\
           "feasible (8.2 s) [1/10, ETA " in "\n".join(lines)
    assert lines[-1].startswith("finished: 10 trials, 2 family members in runs/t")


def test_trial_lines_say_why(events: list[Event]) -> None:
    text = "\n".join(log_of(events))
    assert "trial 2 infeasible params 45.1K MACs 60.0M - MACs 60.0M > 50.0M (0.0 s) [3/10" in text
    assert "trial 7 complete acc 60.00% params 8.00K MACs 90.0K NetScore 50.0 infeasible" in text
    assert "trial 1 epoch 1/2 loss 1.2000 val 40.00%" in text
    assert "member A done (trial 3) test acc 95.50%" in text
    assert "family: retraining A, B for 3 epochs" in text


def test_a_score_has_no_loss(events: list[Event]) -> None:
    scored = EpochDone(0, 1, 1, None, 81.25)  # a supernet's score or a table's lookup
    assert log_of([events[0], events[1], scored])[-1] == "trial 0 epoch 1/1 val 81.25%"


def test_an_epoch_at_most_once(events: list[Event]) -> None:
    repeat = EpochDone(0, 1, 2, 0.9, 80.0)
    lines = log_of([events[0], events[1], repeat, repeat])
    assert sum("epoch 1/2" in line for line in lines) == 1


def test_interrupted(midrun: list[Event]) -> None:
    lines = log_of([*midrun, RunFinished("runs/t", 0, interrupted=True)])
    assert lines[-1] == "interrupted after 8/10 trials (runs/t)"


def test_ctrl_c_without_event(midrun: list[Event]) -> None:
    stream = io.StringIO()
    with pytest.raises(KeyboardInterrupt), PlainLog(stream) as log:
        for event in midrun:
            log(event)
        raise KeyboardInterrupt
    assert stream.getvalue().splitlines()[-1] == "interrupted after 8/10 trials"


def test_summary(midrun: list[Event]) -> None:
    lines = summary_lines(build(midrun))
    assert lines[1] == ("running: 8/10 trials, elapsed 1m 21s, ETA 30.2 s "
                        "(search 7.5 s, family 22.7 s)")
    assert "trials: complete 3 pruned 1 infeasible 1 failed 1 duplicate 1 invalid 1" in lines
    assert any(line.startswith("running: trial 8 epoch 1/2") for line in lines)
    assert lines.index("leaderboard:") < next(
        i for i, line in enumerate(lines) if line.startswith("  1. trial 3 complete"))
    assert "\x1b" not in "\n".join(lines)


def test_counts_read_as_english(events: list[Event]) -> None:
    from genesynth.events import FamilyStarted, SearchExtended

    lines = log_of([events[0], SearchExtended(14, 400_000, 1, 1), FamilyStarted((), 30),
                    RunFinished("runs/t", 1)])
    assert lines[1] == ("family: search extended (phase 1): the family has 1 member; up to "
                        "trial 14 with MACs <= 400,000")
    assert lines[2] == "family: no feasible candidate to retrain"
    assert lines[3].startswith("finished: 0 trials, 1 family member in runs/t")
    assert log_of([events[0], FamilyStarted(("A",), 1)])[1] == "family: retraining A for 1 epoch"


def test_a_resumed_run_counts_on_from_the_trials_it_had() -> None:
    lines = log_of([
        RunStarted("p.gs", "c.toml", "digits", "tpe", 0, "runs/p", 12, done=2),
        TrialFinished(2, "invalid", reason="shapes"),
    ])
    assert lines[0].endswith(" trials 12 (2 already done)")
    assert lines[1].endswith(" - shapes (0.0 s) [3/12]")


def test_widening_dropped_and_renamed_members_are_told() -> None:
    lines = log_of([
        SearchExtended(40, 794_000, 2, 1, wanted=4),
        SearchNotExtended(2, 4, "phase 1 found no smaller member"),
        SearchExtended(47, 5_000_000, 2, 2, wanted=4, min_macs=1_033_280),
        MemberDropped("B", 7, "C", "C has top-1 97.00% >= 96.00%, params 9 <= 10, MACs 1 <= 2",
                      replacement=None),
        MemberRenamed("C", "B", 9),
    ])
    assert lines == [
        "family: search extended (phase 1): the family has 2 of 4 members; up to trial 40 "
        "with MACs <= 794,000",
        "family: the family has 2 of 4 members; no further search: phase 1 found no smaller "
        "member",
        "family: search extended (phase 2): the family has 2 of 4 members; up to trial 47 "
        "with MACs >= 1,033,280, for a more accurate member above A",
        "member B (trial 7) is dominated: C has top-1 97.00% >= 96.00%, params 9 <= 10, "
        "MACs 1 <= 2; dropped",
        "member C (trial 9) is now B",
    ]


def test_a_search_that_ran_out_of_networks_says_so_and_expects_no_more_trials() -> None:
    from genesynth.events import SearchEnded
    from genesynth.record.eta import estimate

    start = RunStarted("p.gs", "c.toml", "digits", "bayes", 0, "runs/x", 40, time=100.0,
                       epochs=2, family_size=2, full_epochs=10)
    done = TrialFinished(0, "complete", "k0", 95.0, 1_000, 50_000, None, 80.0, True, "",
                         10.0, 110.0)
    ended = SearchEnded(1, 40, "none of the 3 networks drawn from the prototype 'p' is "
                        "inside the constraint's bounds and not yet tried", 111.0)
    assert log_of([start, done, ended])[2] == (
        "search ended after 1 trial of 40: none of the 3 networks drawn from the prototype "
        "'p' is inside the constraint's bounds and not yet tried")
    state = build([start, done, ended])
    assert state.planned == 1 and estimate(state).search == 0


def test_results_from_the_evaluation_cache_are_counted() -> None:
    from genesynth.events import FamilyStarted, MemberDone

    start = RunStarted("p.gs", "c.toml", "digits", "bayes", 0, "runs/x", 3, time=100.0,
                       epochs=2, family_size=2, full_epochs=10)
    reused = TrialFinished(0, "complete", "k0", 95.0, 1_000, 50_000, None, 80.0, True,
                           "reused: runs/a trial 3", 0.0, 100.0, reused=True)
    trained = TrialFinished(1, "complete", "k1", 97.0, 2_000, 90_000, None, 78.0, True, "",
                            4.0, 104.0)
    lines = log_of([start, reused, trained,
                    FamilyStarted(("A", "B"), 10, 104.0, cached=("B",)),
                    MemberDone("B", 0, 96.0, 1_000, 50_000, None, 80.0, True, 104.0,
                               reused=True),
                    RunFinished("runs/x", 2, time=130.0)])
    assert lines[1].endswith("[1/3, 1 reused]")  # no trial trained yet: no ETA
    assert lines[3] == "family: retraining A for 10 epochs; B from the evaluation cache"
    assert lines[4].endswith("feasible (reused: evaluation cache)")
    assert lines[5] == ("finished: 2 trials (1 from the evaluation cache, 1 member retrained "
                        "from it), 2 family members in runs/x (30.0 s)")
    state = build([start, reused, trained])
    assert summary_lines(state)[1].startswith("running: 2/3 trials (1 from the evaluation "
                                              "cache), elapsed")
