"""The dashboard's snapshot of a run: a plain object the panels read and nothing else writes.

:class:`RunState` is built in one of two ways:

- live, by feeding it the engine's events in order (:meth:`RunState.apply`), which is what the
  dashboard and the plain log do;
- after the fact, from the trials of an Optuna study and their ``user_attrs``
  (:meth:`RunState.from_study`), which is what ``genesynth watch`` does every second.

It knows nothing of rich; :mod:`genesynth.dashboard.panels` turns it into renderables.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from genesynth.events import (
    SKIPPED,
    TRIAL_STATES,
    EpochDone,
    Event,
    FamilyStarted,
    MemberDone,
    MemberEpoch,
    MemberStarted,
    RunFinished,
    RunStarted,
    SearchExtended,
    TrialFinished,
    TrialStarted,
)


@dataclass
class Candidate:
    """A trial being trained (``state == "running"``) or the last one that finished."""

    number: int
    key: str = ""
    modules: tuple[str, ...] = ()
    params: int | None = None
    macs: int | None = None
    epochs: int = 0
    epoch: int = 0
    loss: float | None = None
    accuracy: float | None = None  # validation top-1 after the last epoch, percent
    state: str = "running"
    reason: str = ""


@dataclass(frozen=True)
class TrialRow:
    """A finished trial, as the leaderboard, the counts and the Pareto view need it."""

    number: int
    state: str
    accuracy: float | None = None
    params: int | None = None
    macs: int | None = None
    latency_ms: float | None = None
    utility: float | None = None
    feasible: bool = False
    reason: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class Point:
    """One trial on the accuracy-vs-MACs plane."""

    number: int
    macs: int
    accuracy: float
    feasible: bool


@dataclass
class Member:
    """One family member: ``waiting``, ``training`` (epoch by epoch) or ``done``."""

    label: str
    trial: int | None = None
    status: str = "waiting"
    epoch: int = 0
    epochs: int = 0
    loss: float | None = None
    accuracy: float | None = None  # validation while training, test top-1 when done
    params: int | None = None
    macs: int | None = None
    latency_ms: float | None = None
    utility: float | None = None
    feasible: bool | None = None


@dataclass
class RunState:
    """Everything the dashboard shows, updated event by event."""

    prototype: str = ""
    constraint: str = ""
    data: str = ""
    sampler: str = ""
    seed: int | None = None
    out: str = ""
    utility_name: str = "NetScore"
    planned: int = 0
    started_at: float = 0.0
    now: float = 0.0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TRIAL_STATES, 0))
    skipped: int = 0  # samples outside the static bounds: drawn again, not trials
    trials: list[TrialRow] = field(default_factory=list)
    running: dict[int, Candidate] = field(default_factory=dict)
    last: Candidate | None = None
    family: dict[str, Member] = field(default_factory=dict)
    family_epochs: int = 0
    finished: bool = False
    interrupted: bool = False

    # -- derived views ----------------------------------------------------------------------

    @property
    def done(self) -> int:
        """Trials finished, in any state."""
        return sum(self.counts.values())

    @property
    def elapsed(self) -> float:
        return max(0.0, self.now - self.started_at) if self.started_at else 0.0

    @property
    def mean_seconds(self) -> float | None:
        """Mean wall time of a finished trial (elapsed / done when trials report none)."""
        if not self.trials:
            return None
        mean = sum(t.seconds for t in self.trials) / len(self.trials)
        return mean if mean > 0 else (self.elapsed / len(self.trials) or None)

    @property
    def eta(self) -> float | None:
        """Seconds until the search's last trial, from the mean trial time; None if unknown."""
        if self.finished or self.done >= self.planned:
            return 0.0 if self.planned else None
        mean = self.mean_seconds
        return None if mean is None else mean * (self.planned - self.done)

    @property
    def candidate(self) -> Candidate | None:
        """The most recently started running trial, else the last one that finished."""
        if self.running:
            return self.running[max(self.running)]
        return self.last

    def leaderboard(self, limit: int = 8) -> list[TrialRow]:
        """Feasible complete trials, best utility first."""
        rows = [
            t for t in self.trials
            if t.state == "complete" and t.feasible and t.utility is not None
        ]
        rows.sort(key=lambda t: (-(t.utility or 0.0), t.number))
        return rows[:limit]

    @property
    def best(self) -> TrialRow | None:
        top = self.leaderboard(1)
        return top[0] if top else None

    @property
    def points(self) -> list[Point]:
        """Complete trials with a measured accuracy and a cost, for the Pareto view."""
        return [
            Point(t.number, t.macs, t.accuracy, t.feasible)
            for t in self.trials
            if t.state == "complete" and t.accuracy is not None and math.isfinite(t.accuracy)
            and t.macs is not None and t.macs > 0
        ]

    # -- events -----------------------------------------------------------------------------

    def apply(self, event: Event) -> RunState:
        """Take one engine event into the snapshot; returns ``self`` for chaining."""
        if event.time:
            self.now = max(self.now, event.time)
        match event:
            case RunStarted():
                self._run_started(event)
            case TrialStarted():
                self.running[event.number] = Candidate(
                    event.number, event.key, event.modules, event.params, event.macs,
                    event.epochs,
                )
            case EpochDone():
                self._epoch_done(event)
            case TrialFinished():
                self._trial_finished(event)
            case SearchExtended():
                self.planned = event.trials
            case FamilyStarted():
                self.family_epochs = event.epochs
                self.family = {label: Member(label, epochs=event.epochs) for label in event.members}
            case MemberStarted() | MemberEpoch() | MemberDone():
                self._member(event)
            case RunFinished():
                self.finished = True
                self.interrupted = event.interrupted
                self.running.clear()
        return self

    def _run_started(self, event: RunStarted) -> None:
        self.prototype, self.constraint, self.data = event.prototype, event.constraint, event.data
        self.sampler, self.seed, self.out = event.sampler, event.seed, event.out
        self.planned = event.trials
        self.utility_name = event.utility
        if event.time:
            self.started_at = event.time

    def _epoch_done(self, event: EpochDone) -> None:
        cand = self.running.get(event.number)
        if cand is None:
            cand = self.running[event.number] = Candidate(event.number, epochs=event.epochs)
        cand.epoch, cand.epochs = event.epoch, event.epochs
        cand.loss, cand.accuracy = event.loss, event.accuracy

    def _trial_finished(self, event: TrialFinished) -> None:
        if event.state == SKIPPED:
            self.skipped += 1
            self.running.pop(event.number, None)
            return
        state = event.state if event.state in self.counts else "failed"
        self.counts[state] += 1
        row = TrialRow(
            event.number, state, event.accuracy, event.params, event.macs, event.latency_ms,
            event.utility, event.feasible, event.reason, event.seconds,
        )
        self.trials.append(row)
        cand = self.running.pop(event.number, None) or Candidate(event.number)
        cand.state, cand.reason = state, event.reason
        if event.accuracy is not None:
            cand.accuracy = event.accuracy
        cand.params = event.params if event.params is not None else cand.params
        cand.macs = event.macs if event.macs is not None else cand.macs
        self.last = cand

    def _member(self, event: MemberStarted | MemberEpoch | MemberDone) -> None:
        member = self.family.setdefault(event.label, Member(event.label))
        if isinstance(event, MemberStarted):
            member.status, member.trial, member.epochs = "training", event.trial, event.epochs
            member.params, member.macs = event.params, event.macs
        elif isinstance(event, MemberEpoch):
            member.status, member.epoch, member.epochs = "training", event.epoch, event.epochs
            member.loss, member.accuracy = event.loss, event.accuracy
        else:
            member.status, member.trial, member.accuracy = "done", event.trial, event.accuracy
            member.params, member.macs = event.params, event.macs
            member.latency_ms = event.latency_ms
            member.utility, member.feasible = event.utility, event.feasible
            member.epoch = member.epochs

    # -- from a study -----------------------------------------------------------------------

    @classmethod
    def from_study(
        cls,
        study: Any,
        run: Mapping[str, Any],
        family: Mapping[str, Any] | None = None,
        now: float | None = None,
    ) -> RunState:
        """A snapshot from an Optuna study (or a list of ``FrozenTrial``) and ``run.json``.

        Finished trials come from their ``user_attrs`` (docs/run-directory.md); RUNNING trials
        are the current candidates. ``family`` is the content of ``family.json`` when it
        exists. The run counts as finished when ``family`` is given or the study's
        ``user_attrs["finished"]`` is true.
        """
        from genesynth.record.reader import state_from_trials

        trials = study.get_trials(deepcopy=False) if hasattr(study, "get_trials") else study
        attrs = getattr(study, "user_attrs", {}) or {}
        finished = bool(attrs.get("finished")) or family is not None
        return state_from_trials(cls(), list(trials), run, family, finished, now)
