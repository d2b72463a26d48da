"""One Optuna trial: sample, cost, reject early, de-duplicate, evaluate, score.

The order keeps wasted work small: a sample that does not fit the shapes is ``invalid``; a
candidate over a static bound (params, MACs, latency measured without training or predicted
by the constraint's latency table) is
``skipped``: it costs milliseconds and does not count against the trial budget (the
sampler simply draws again, at most ``MAX_SKIPS_IN_A_ROW`` times in a row); a candidate that
builds the same network as an earlier trial (equal canonical key) is a ``duplicate`` and
reuses that trial's result; only then is it evaluated. Every trial records the user_attrs
described in docs/run-directory.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import optuna
from optuna.trial import TrialState as OptunaState

from genesynth.errors import RunError, ShapeError
from genesynth.evaluate.base import CandidateFailed, Evaluator, Pruned
from genesynth.events import EpochDone, Listener, TrialFinished, TrialStarted
from genesynth.net.arch import Architecture, Value
from genesynth.net.costs import cost
from genesynth.net.measurement import Measurement
from genesynth.net.summary import module_lines
from genesynth.record.trial import TrialRecord, TrialState, record

if TYPE_CHECKING:
    from genesynth.evaluate.cache import EvaluationCache
    from genesynth.goal.constraint import Constraint
    from genesynth.space import Prototype

FAILED_VALUES = 1.0  # constraint value recorded for invalid samples: violated

#: Samples outside the static bounds tolerated one after another before the run stops with an
#: error: the sampler keeps proposing what the bounds exclude (or the space holds nothing else).
MAX_SKIPS_IN_A_ROW = 1000


class TrialChooser:
    """The prototype's Chooser over an Optuna trial."""

    def __init__(self, trial: optuna.Trial) -> None:
        self.trial = trial

    def categorical(self, name: str, options: Sequence[Value]) -> Value:
        value = self.trial.suggest_categorical(name, list(options))
        if value is None:  # options never hold None; narrows Optuna's return type
            raise ValueError(f"choice '{name}' has no options")
        return value

    def integer(self, name: str, low: int, high: int, step: int) -> int:
        return self.trial.suggest_int(name, low, high, step=step)


class CandidateOutcome(Exception):
    """Ends a trial early with a genesynth state (invalid, skipped, pruned, duplicate)."""

    def __init__(self, state: TrialState, reason: str) -> None:
        super().__init__(reason)
        self.state = state
        self.reason = reason


@dataclass
class Objective:
    """Called once per trial; returns the utility (or the Pareto objectives).

    Its TrialFinished event waits until the result is stored: the trial loop calls
    :meth:`told` after ``study.tell``, so a listener never hears of a trial that an interrupt
    kept out of the storage.
    """

    prototype: Prototype
    constraint: Constraint
    evaluator: Evaluator
    emit: Listener
    multi_objective: bool = False
    epochs: int = 0
    latency: Callable[[Architecture], float] | None = None  # ms, when the constraint reads it
    phase: int = 0  # 0: the search; 1, 2, ...: phases that widen a short family
    cache: EvaluationCache | None = None  # measurements shared across runs
    source: str = ""  # how cache entries name this run (its directory)
    finished: dict[int, TrialFinished] = field(default_factory=dict)  # sent once stored
    skips_in_a_row: int = 0

    def __call__(self, trial: optuna.Trial) -> float | tuple[float, float, float]:
        start = time.perf_counter()
        record(trial, seconds=0.0)
        try:
            return self._run(trial, start)
        except CandidateOutcome as outcome:
            self._finish(trial, outcome.state, start, reason=outcome.reason)
            self._count_skip(outcome)
            raise optuna.TrialPruned(outcome.reason) from None
        except CandidateFailed as failure:
            self._finish(trial, TrialState.FAILED, start, reason=str(failure))
            raise

    def _count_skip(self, outcome: CandidateOutcome) -> None:
        """Bound the samples outside the static bounds: they cost no budget, so a sampler that
        proposes nothing else would otherwise run forever."""
        if outcome.state != TrialState.SKIPPED:
            self.skips_in_a_row = 0
            return
        self.skips_in_a_row += 1
        if self.skips_in_a_row >= MAX_SKIPS_IN_A_ROW:
            raise RunError(
                f"{self.skips_in_a_row} samples in a row were outside the constraint's static "
                f"bounds (the last: {outcome.reason}); the sampler finds next to nothing inside "
                "them: loosen the bounds, or use the default sampler ('bayes'), which draws "
                "only from inside them"
            )

    def _run(self, trial: optuna.Trial, start: float) -> float | tuple[float, float, float]:
        record(trial, phase=self.phase or None)
        arch = self._sample(trial)
        c = cost(arch)
        record(trial, key=arch.key, arch=arch.to_json(indent=None), params=c.params,
               macs=c.macs)
        self._reject_statically(trial, arch, c.params, c.macs)
        self.emit(TrialStarted(trial.number, arch.key, module_lines(arch), c.params, c.macs,
                               self.epochs, time.time()))
        latency = TrialRecord.of(trial).latency_ms
        self.skips_in_a_row = 0
        earlier = self._duplicate_of(trial, arch.key)
        if earlier is not None:
            return self._copy(trial, earlier, start)
        reused = self.cache.lookup(arch.key) if self.cache is not None else None
        if reused is not None:
            return self._reuse(trial, reused, latency, start)
        try:
            prune = not self.multi_objective and self.evaluator.prunable
            reporter = _Reporter(trial, self.emit, self.epochs, prune)
            m = self.evaluator.evaluate(arch, reporter)
        except Pruned as pruned:
            so_far = Measurement(pruned.accuracy, c.params, c.macs, latency)
            record(trial, accuracy=pruned.accuracy)
            self._constrain(trial, self.constraint.optuna_values(so_far))
            raise CandidateOutcome(TrialState.PRUNED, str(pruned)) from None
        m = Measurement(m.accuracy, c.params, c.macs, latency, m.curve, m.loss, m.seconds)
        if self.cache is not None:
            self.cache.store(arch.key, m, f"{self.source} trial {trial.number}".strip())
        return self._score(trial, m, start)

    def _reuse(self, trial: optuna.Trial, reused: Any, latency: float | None, start: float
               ) -> float | tuple[float, float, float]:
        """Score a measurement from the evaluation cache: no training; ``reused`` says whence."""
        m = reused.measurement
        record(trial, reused=reused.source or "the evaluation cache")
        if not self.multi_objective:  # the pruner's statistics see the curve, nothing is pruned
            for epoch, accuracy in enumerate(m.curve, start=1):
                trial.report(accuracy, epoch)
        rec = TrialRecord.of(trial)
        m = Measurement(m.accuracy, rec.params or 0, rec.macs or 0, latency, m.curve, m.loss,
                        m.seconds)
        return self._score(trial, m, start, note=f"reused: {reused.source or 'cache'}")

    def _sample(self, trial: optuna.Trial) -> Architecture:
        try:
            arch, _ = self.prototype.sample_with_choices(chooser=TrialChooser(trial))
        except ShapeError as error:
            self._constrain(trial, [FAILED_VALUES] * len(self.constraint.bound_names))
            raise CandidateOutcome(TrialState.INVALID, error.message) from None
        return arch

    def _constrain(self, trial: optuna.Trial, values: Sequence[float]) -> None:
        """Record the constraint values (≤ 0 satisfied) that Optuna's samplers read."""
        for name, value in zip(self.constraint.bound_names, values, strict=True):
            trial.set_constraint(name, value)

    def _reject_statically(self, trial: optuna.Trial, arch: Architecture, params: int,
                           macs: int) -> None:
        violations = list(self.constraint.static_violations(params, macs))
        latency = None
        wanted = self.constraint.needs_latency or getattr(self.constraint, "predicts_latency",
                                                          False)  # a prediction costs nothing
        if not violations and self.latency is not None and wanted:
            latency = float(self.latency(arch))
            record(trial, latency_ms=latency)
            violations = list(self.constraint.violations(Measurement(100.0, params, macs, latency)))
        if violations:
            best_case = Measurement(100.0, params, macs, latency)
            self._constrain(trial, self.constraint.optuna_values(best_case))
            raise CandidateOutcome(TrialState.SKIPPED, "; ".join(violations))

    def _duplicate_of(self, trial: optuna.Trial, key: str) -> optuna.trial.FrozenTrial | None:
        for other in trial.study.get_trials(deepcopy=False):
            if other.number < trial.number:
                rec = TrialRecord.of(other)
                if rec.key == key and rec.measured:
                    return other
        return None

    def _copy(self, trial: optuna.Trial, earlier: optuna.trial.FrozenTrial, start: float
              ) -> float | tuple[float, float, float]:
        reason = f"same network as trial {earlier.number}"
        rec = TrialRecord.of(earlier)
        if earlier.state != OptunaState.COMPLETE:
            self._constrain(trial, [FAILED_VALUES] * len(self.constraint.bound_names))
            raise CandidateOutcome(TrialState.DUPLICATE, f"{reason} ({rec.state})")
        record(trial, accuracy=rec.accuracy, latency_ms=rec.latency_ms, utility=rec.utility,
               feasible=rec.feasible, curve=rec.curve)
        for name, value in earlier.constraints.items():
            trial.set_constraint(name, value)
        self._finish(trial, TrialState.DUPLICATE, start, reason=reason)
        values = earlier.values
        return tuple(values) if self.multi_objective else values[0]

    def _score(self, trial: optuna.Trial, m: Measurement, start: float, note: str = ""
               ) -> float | tuple[float, float, float]:
        utility = float(self.constraint.utility(m))
        feasible = bool(self.constraint.feasible(m))
        record(trial, accuracy=m.accuracy, curve=m.curve, utility=utility, feasible=feasible)
        self._constrain(trial, self.constraint.optuna_values(m))
        violations = [] if feasible else list(self.constraint.violations(m))
        reason = "; ".join([note, *violations] if note else violations)
        self._finish(trial, TrialState.COMPLETE, start, reason=reason)
        if self.multi_objective:
            return (m.accuracy, float(m.macs), float(m.params))
        return utility

    def _finish(self, trial: optuna.Trial, state: TrialState, start: float, reason: str = ""
                ) -> None:
        seconds = time.perf_counter() - start
        record(trial, state=state, reason=reason, seconds=seconds)
        rec = TrialRecord.of(trial)
        self.finished[trial.number] = TrialFinished(
            trial.number, state, key=rec.key or "", accuracy=rec.accuracy, params=rec.params,
            macs=rec.macs, latency_ms=rec.latency_ms, utility=rec.utility,
            feasible=rec.feasible is True, reason=reason, seconds=seconds, time=time.time(),
            reused=rec.reused is not None,
        )

    def told(self, trial: optuna.Trial) -> None:
        """The storage holds ``trial``'s result: now its TrialFinished event can be sent."""
        event = self.finished.pop(trial.number, None)
        if event is not None:
            self.emit(event)


class _Reporter:
    """``report(epoch, loss, accuracy)`` for an evaluator: Optuna pruning plus an event.

    A finished measurement is never pruned: the last epoch, and every report of an evaluator
    without intermediate steps (``prunable`` False, e.g. a table lookup), only emit the event.
    """

    def __init__(self, trial: optuna.Trial, emit: Listener, epochs: int, prune: bool) -> None:
        self.trial = trial
        self.emit = emit
        self.epochs = epochs
        self.prune = prune  # Optuna prunes single-objective studies only

    def __call__(self, epoch: int, loss: float | None, accuracy: float) -> None:
        self.emit(EpochDone(self.trial.number, epoch, self.epochs, loss, accuracy, time.time()))
        if not self.prune or epoch >= self.epochs:
            return
        self.trial.report(accuracy, epoch)
        if self.trial.should_prune():
            raise Pruned(epoch, accuracy)
