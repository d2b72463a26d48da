"""The generator end to end on tiny budgets: analytic rejection, de-duplication, failure,
pruning, the family, events, and resume after a process is killed mid-trial."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.study import StudyDirection

import genesynth
from genesynth.evaluate.base import CandidateFailed, Evaluator, Report
from genesynth.evaluate.train import TrainConfig
from genesynth.events import (
    MemberDone,
    RunFinished,
    RunStarted,
    SearchExtended,
    TrialFinished,
    TrialStarted,
)
from genesynth.goal.constraint import Constraint
from genesynth.net.measurement import Measurement
from genesynth.record.layout import study_url
from genesynth.storage import open_storage

TINY = """
network tiny {
  input 1x8x8
  classes 10
  divisor 4
  stem { conv(out=8) bn relu }
  modules {
    block(out=[8, 16], stride=[1, 2])
    block(out=[16, 32])
  }
  head { gap linear(out=classes) softmax }
}

module block(out, stride=1): residual(shortcut=auto) {
  conv(out=out, kernel=[1, 3], stride=stride) bn relu
  pwconv(out=out) bn
} then { relu }
"""

FAST = dict(proxy=TrainConfig(epochs=1, batch_size=64), full=TrainConfig(epochs=2, batch_size=64))


@pytest.fixture(scope="module")
def digits() -> Any:
    return genesynth.load_data("digits", limit=300)


def _run(tmp_path: Path, digits: Any, constraint: Constraint, **kwargs: Any) -> Any:
    events: list[Any] = []
    settings = {**FAST, "trials": 8, "family_size": 2, "seed": 0, **kwargs}
    result = genesynth.synthesize(
        genesynth.parse_prototype(TINY), constraint, data=digits, out=tmp_path / "run",
        listeners=[events.append], **settings,
    )
    return result, events


def test_tiny_synthesis_end_to_end(tmp_path: Path, digits: Any) -> None:
    rule = Constraint(min_accuracy=10.0, max_macs=200_000, max_params=None, max_latency_ms=None)
    result, events = _run(tmp_path, digits, rule)
    out = tmp_path / "run"
    states = Counter(t.user_attrs["state"] for t in result.trials)
    assert sum(states.values()) - states["skipped"] == 8
    assert isinstance(events[0], RunStarted) and isinstance(events[-1], RunFinished)
    finished = [e for e in events if isinstance(e, TrialFinished)]
    assert [e.number for e in finished] == list(range(len(result.trials)))
    assert Counter(e.state for e in finished) == states
    family = json.loads((out / "family.json").read_text())["members"]
    assert [m["label"] for m in family] == [m.label for m in result.family]
    assert 1 <= len(family) <= 2
    for member in family:
        assert member["macs"] <= 200_000 and member["feasible"] == (member["accuracy"] >= 10.0)
        arch = genesynth.Architecture.from_json((out / member["arch"]).read_text())
        assert genesynth.parse_prototype((out / member["text"]).read_text()).sample() == arch
        assert (out / member["weights"]).exists()
    assert len([e for e in events if isinstance(e, MemberDone)]) == len(family)
    recorded = (out / "events.jsonl").read_text().splitlines()
    assert len(recorded) == len(events)


def test_the_same_seed_gives_the_same_run(tmp_path: Path, digits: Any) -> None:
    rule = Constraint(min_accuracy=10.0, max_macs=None, max_params=None, max_latency_ms=None)
    first, _ = _run(tmp_path / "a", digits, rule, trials=5, family_size=1)
    again, _ = _run(tmp_path / "b", digits, rule, trials=5, family_size=1)
    assert [(t.params, t.values) for t in first.trials] == [
        (t.params, t.values) for t in again.trials
    ]
    assert [(m.key, m.accuracy) for m in first.family] == [
        (m.key, m.accuracy) for m in again.family
    ]


def test_a_short_family_is_widened_below_its_smallest_member(
    tmp_path: Path, digits: Any
) -> None:
    class Fixed(Evaluator):  # more MACs, more top-1: no candidate beats another on every measure
        def evaluate(self, arch: Any, report: Report) -> Measurement:
            c = genesynth.cost(arch)
            return Measurement(60.0 + c.macs / 10_000, c.params, c.macs)

    rule = Constraint(min_accuracy=50.0, max_macs=None, max_params=None, max_latency_ms=None)
    result, events = _run(tmp_path, digits, rule, evaluator=Fixed(), trials=2, family_size=4,
                          sampler="random")
    search = [t for t in result.trials if "phase" not in t.user_attrs]
    assert len(search) == 2
    phases = [e for e in events if isinstance(e, SearchExtended)]
    assert [e.phase for e in phases] == list(range(1, len(phases) + 1)) and phases
    for event in phases:
        trained = [t for t in result.trials if t.user_attrs.get("phase") == event.phase
                   and t.user_attrs["state"] == "complete"]
        assert all(t.user_attrs["macs"] <= event.max_macs for t in trained)
    macs = [m.macs for m in result.family]
    assert len(macs) > 1 and all(b <= 0.8 * a for a, b in zip(macs, macs[1:], strict=False))


def test_a_space_with_nothing_inside_the_static_bounds_is_refused(
    tmp_path: Path, digits: Any
) -> None:
    class NeverCalled(Evaluator):
        def evaluate(self, arch: Any, report: Report) -> Measurement:
            raise AssertionError("a candidate outside the bounds was evaluated")

    rule = Constraint(min_accuracy=None, max_macs=1000, max_params=1000, max_latency_ms=None)
    with pytest.raises(genesynth.ConstraintError) as caught:
        _run(tmp_path, digits, rule, evaluator=NeverCalled(), trials=5)
    assert str(caught.value) == (
        "the prototype 'tiny' at input 1x8x8 holds no network inside the constraint's bounds: "
        "its smallest network has 16.0K MACs, above max_macs = 1.00K; its smallest network "
        "has 1.03K params, above max_params = 1.00K"
    )
    assert not (tmp_path / "run").exists()


def test_samples_outside_the_static_bounds_never_spend_the_budget(
    tmp_path: Path, digits: Any
) -> None:
    evaluated: list[int] = []

    class Macs(Evaluator):
        def evaluate(self, arch: Any, report: Report) -> Measurement:
            c = genesynth.cost(arch)
            evaluated.append(c.macs)
            return Measurement(50.0, c.params, c.macs)

    rule = Constraint(min_accuracy=None, max_macs=60_000, max_params=None, max_latency_ms=None)
    result, events = _run(tmp_path, digits, rule, evaluator=Macs(), trials=6, sampler="random",
                          family_size=1)
    states = Counter(t.user_attrs["state"] for t in result.trials)
    assert states["skipped"] > 0 and sum(states.values()) - states["skipped"] == 6
    assert evaluated and all(macs <= 60_000 for macs in evaluated)
    skipped = [t for t in result.trials if t.user_attrs["state"] == "skipped"]
    assert all(t.user_attrs["macs"] > 60_000 for t in skipped)
    assert all(t.user_attrs["reason"].startswith("MACs ") for t in skipped)
    started = {e.number for e in events if isinstance(e, TrialStarted)}
    assert started.isdisjoint(t.number for t in skipped)


def test_a_sampler_that_keeps_proposing_outside_the_bounds_is_stopped(
    tmp_path: Path, digits: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from genesynth.synth import objective

    monkeypatch.setattr(objective, "MAX_SKIPS_IN_A_ROW", 3)
    with warnings.catch_warnings():  # PartialFixedSampler is marked experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        always_big = optuna.samplers.PartialFixedSampler(
            {"m01.stride": 1, "m02.out": 32}, optuna.samplers.RandomSampler(seed=0)
        )
    rule = Constraint(min_accuracy=None, max_macs=60_000, max_params=None, max_latency_ms=None)
    with pytest.raises(genesynth.RunError, match="3 samples in a row were outside the "
                       "constraint's static bounds"):
        _run(tmp_path, digits, rule, trials=4, sampler=always_big, family_size=1)


def test_the_same_network_is_evaluated_once(tmp_path: Path, digits: Any) -> None:
    calls: list[str] = []

    class Counting(Evaluator):
        def evaluate(self, arch: Any, report: Report) -> Measurement:
            calls.append(arch.key)
            c = genesynth.cost(arch)
            return Measurement(50.0, c.params, c.macs)

    rule = Constraint(min_accuracy=None, max_macs=None, max_params=None, max_latency_ms=None)
    # 8 slot widths x strides x kernels = 32 architectures; 40 random trials must repeat some.
    result, _ = _run(tmp_path, digits, rule, evaluator=Counting(), trials=40, sampler="random",
                     family_size=1)
    assert len(calls) == len(set(calls))
    keys = [t.user_attrs["key"] for t in result.trials]
    duplicates = [t for t in result.trials if t.user_attrs["state"] == "duplicate"]
    assert len(calls) == len(set(keys)) and len(duplicates) == len(keys) - len(set(keys)) > 0
    first = {t.user_attrs["key"]: t for t in reversed(result.trials)}
    for t in duplicates:
        assert t.value == first[t.user_attrs["key"]].value
        earlier = first[t.user_attrs["key"]].number
        assert t.user_attrs["reason"] == f"same network as trial {earlier}"


def test_a_failing_candidate_is_recorded_and_the_run_goes_on(tmp_path: Path, digits: Any) -> None:
    class FailsWide(Evaluator):
        def evaluate(self, arch: Any, report: Report) -> Measurement:
            c = genesynth.cost(arch)
            if c.params > 3000:
                raise CandidateFailed("loss became nan in epoch 1")
            return Measurement(60.0, c.params, c.macs)

    rule = Constraint(min_accuracy=None, max_macs=None, max_params=None, max_latency_ms=None)
    # A family of one: no widening phase adds trials to the ten counted here.
    result, _ = _run(tmp_path, digits, rule, evaluator=FailsWide(), trials=10, sampler="random",
                     family_size=1)
    failed = [t for t in result.trials if t.user_attrs["state"] == "failed"]
    assert failed and all(t.state == optuna.trial.TrialState.FAIL for t in failed)
    assert {t.user_attrs["reason"] for t in failed} == {"loss became nan in epoch 1"}
    assert len(result.trials) == 10


def test_hopeless_candidates_are_pruned_after_an_epoch(tmp_path: Path, digits: Any) -> None:
    class Curves(Evaluator):
        """Even trials learn; odd trials stay at chance for every epoch."""

        epochs = 3  # type: ignore[assignment]  # a plain attribute for the base's property

        def evaluate(self, arch: Any, report: Report) -> Measurement:
            good = len(calls) % 2 == 0
            calls.append(good)
            for epoch in range(1, 4):
                report(epoch, 1.0, 80.0 + epoch if good else 10.0)
            c = genesynth.cost(arch)
            return Measurement(83.0 if good else 10.0, c.params, c.macs)

    calls: list[bool] = []
    rule = Constraint(min_accuracy=None, max_macs=None, max_params=None, max_latency_ms=None)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
    result, _ = _run(tmp_path, digits, rule, evaluator=Curves(), trials=10, sampler="random",
                     pruner=pruner, family_size=1)
    pruned = [t for t in result.trials if t.user_attrs["state"] == "pruned"]
    assert pruned and all(t.user_attrs["accuracy"] == 10.0 for t in pruned)
    assert all(t.user_attrs["reason"] == "pruned after epoch 1 at 10.00%" for t in pruned)


@pytest.mark.parametrize("prunable", [True, False])
def test_a_finished_measurement_is_never_pruned(
    tmp_path: Path, digits: Any, prunable: bool
) -> None:
    class Alternating(Evaluator):
        """Odd candidates end far below the median: on their last epoch, or in their only
        report when the evaluator has no steps worth pruning on (a table)."""

        config = TrainConfig(epochs=1 if not prunable else 2)

        def __init__(self) -> None:
            self.prunable = prunable
            self.calls = 0

        def evaluate(self, arch: Any, report: Report) -> Measurement:
            self.calls += 1
            final = 90.0 if self.calls % 2 else 10.0
            if prunable:
                report(1, 1.0, 50.0)
            report(self.config.epochs, 1.0, final)
            c = genesynth.cost(arch)
            return Measurement(final, c.params, c.macs)

    rule = Constraint(min_accuracy=None, max_macs=None, max_params=None, max_latency_ms=None)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0)
    result, _ = _run(tmp_path, digits, rule, evaluator=Alternating(), trials=8,
                     sampler="random", pruner=pruner, family_size=1)
    states = Counter(t.user_attrs["state"] for t in result.trials)
    assert states["pruned"] == 0 and states["complete"] >= 6
    assert {t.user_attrs["accuracy"] for t in result.trials
            if t.user_attrs["state"] == "complete"} == {90.0, 10.0}


def test_resume_after_the_process_is_killed_mid_trial(tmp_path: Path) -> None:
    proto = tmp_path / "tiny.gs"
    proto.write_text(TINY)
    rules = tmp_path / "rules.toml"
    rules.write_text("[bounds]\nmin_accuracy = 10.0\n")
    out = tmp_path / "run"
    command = [sys.executable, "-m", "genesynth.cli", "synthesize", str(proto), "--constraint",
               str(rules), "--trials", "6", "--epochs", "3", "--full-epochs", "1", "--family",
               "1", "--out", str(out), "--plain", "--sampler", "random"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        victim = _wait_for_a_running_trial_after_two_finished(out / "events.jsonl")
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        process.kill()
    study = optuna.load_study(study_name="genesynth", storage=open_storage(study_url(out)))
    before = {t.number: (t.values, t.params) for t in study.get_trials()}
    assert len(before) >= 2 and sorted(before) == list(range(len(before)))
    assert victim not in before  # the trial it was running never reached the database

    result = genesynth.synthesize(proto, rules, trials=6, out=out, resume=True, seed=0,
                                  sampler="random", epochs=3, full_epochs=1, family_size=1)
    trials = result.trials
    assert {t.number: (t.values, t.params) for t in trials[: len(before)]} == before
    assert [t.number for t in trials] == list(range(6))
    assert all("state" in t.user_attrs for t in trials)
    stored = optuna.load_study(study_name="genesynth", storage=open_storage(study_url(out)))
    assert [(t.number, t.values, t.params) for t in stored.trials] == [
        (t.number, t.values, t.params) for t in trials
    ]
    assert json.loads((out / "family.json").read_text())["members"]


def _wait_for_a_running_trial_after_two_finished(events: Path) -> int:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if events.exists():
            lines = [json.loads(x) for x in events.read_text().splitlines() if x.strip()]
            finished = {e["number"] for e in lines if e["event"] == "TrialFinished"}
            started = [e["number"] for e in lines if e["event"] == "TrialStarted"]
            running = [n for n in started if n not in finished]
            if len(finished) >= 2 and running:
                return running[-1]
        time.sleep(0.05)
    raise AssertionError("the run did not reach its third trial in time")


class _Prepared(Evaluator):
    """Records the order of hook calls."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.context: Any = None

    def prepare(self, context: Any) -> None:
        self.calls.append("prepare")
        self.context = context

    def evaluate(self, arch: Any, report: Report) -> Measurement:
        self.calls.append("evaluate")
        c = genesynth.cost(arch)
        return Measurement(90.0, c.params, c.macs)


def test_prepare_runs_once_before_the_first_evaluation(tmp_path: Path, digits: Any) -> None:
    rule = Constraint(min_accuracy=50.0, max_macs=None, max_params=None, max_latency_ms=None)
    evaluator = _Prepared()
    result, _ = _run(tmp_path, digits, rule, evaluator=evaluator, trials=3, family_size=1)
    assert evaluator.calls[0] == "prepare" and evaluator.calls.count("prepare") == 1
    assert "evaluate" in evaluator.calls
    context = evaluator.context
    assert (context.dataset, context.run_dir, context.seed) == (digits, result.out, 0)
    assert context.prototype.input_shape == digits.input_shape


def test_a_multi_objective_sampler_object_makes_a_pareto_run(
    tmp_path: Path, digits: Any
) -> None:
    rule = Constraint(min_accuracy=50.0, max_macs=None, max_params=None, max_latency_ms=None)
    result, _ = _run(tmp_path, digits, rule, evaluator=_Prepared(), trials=2, family_size=1,
                     sampler=optuna.samplers.NSGAIISampler(seed=0))
    maximize, minimize = StudyDirection.MAXIMIZE, StudyDirection.MINIMIZE
    assert result.study.directions == [maximize, minimize, minimize]
    complete = [t for t in result.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert complete and all(len(t.values) == 3 for t in complete)


def test_an_interrupt_says_what_the_evaluator_keeps(tmp_path: Path, digits: Any) -> None:
    from genesynth.synth import RunInterrupted

    class Stops(Evaluator):
        def prepare(self, context: Any) -> None:
            raise KeyboardInterrupt

        def kept(self) -> str:
            return "the supernet's training is kept up to the end of epoch 1 of 8"

        def evaluate(self, arch: Any, report: Report) -> Measurement:
            raise AssertionError("never reached")

    with pytest.raises(RunInterrupted) as caught:
        _run(tmp_path, digits, Constraint(), evaluator=Stops())
    assert caught.value.kept == "the supernet's training is kept up to the end of epoch 1 of 8"


def test_a_space_smaller_than_the_budget_ends_the_search_and_makes_the_family(
    tmp_path: Path, digits: Any
) -> None:
    """Every network inside the bounds tried before the budget is spent: the search ends
    (was: `error: none of the ... networks ... not yet tried`, and no family)."""
    from genesynth.events import SearchEnded
    from genesynth.synth.trials import exhausted

    rule = Constraint(min_accuracy=10.0, max_macs=200_000, max_params=None, max_latency_ms=None)
    result, events = _run(tmp_path, digits, rule, trials=40)
    counted = [t for t in result.trials if t.user_attrs.get("state") not in (None, "skipped")]
    keys = {t.user_attrs["key"] for t in counted}
    [ended] = [e for e in events if isinstance(e, SearchEnded)]
    assert (ended.trials, ended.planned) == (len(counted), 40)
    assert len(keys) == len(counted) < 40
    assert "not yet tried" in ended.reason
    assert exhausted(result.study) == ended.reason
    assert isinstance(events[-1], RunFinished) and events[-1].family == len(result.family) >= 1
