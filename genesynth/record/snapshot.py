"""The dashboard's snapshot of a run: a plain object the panels read and nothing else writes.

:class:`RunState` is built in one of two ways:

- live, by feeding it the engine's events in order (:meth:`RunState.apply`), which is what the
  dashboard and the plain log do;
- after the fact, from the trials of an Optuna study and their ``user_attrs``
  (:func:`genesynth.record.reader.state_from_study`), which is what ``genesynth watch`` does
  every second.

It knows nothing of rich; :mod:`genesynth.dashboard.panels` turns it into renderables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from genesynth import fmt
from genesynth.events import (
    AdaptStarted,
    AdaptStep,
    EpochDone,
    Event,
    FamilyStarted,
    FidelityChecked,
    MemberDone,
    MemberDropped,
    MemberEpoch,
    MemberRenamed,
    MemberStarted,
    RunFinished,
    RunResumed,
    RunStarted,
    SearchEnded,
    SearchExtended,
    SearchNotExtended,
    SupernetProgress,
    TrialFinished,
    TrialStarted,
)
from genesynth.record import eta
from genesynth.record.rows import (
    BOUNDS,
    Candidate,
    Member,
    Point,
    SupernetPhase,
    TrialRow,
)
from genesynth.record.selection import MIN_GAP, select
from genesynth.record.trial import TRIAL_STATES, TrialState, counted_states

__all__ = [
    "BOUNDS", "Candidate", "Member", "Point", "RunState", "TrialRow", "search_ended_text",
    "search_extended_text", "search_not_extended_text", "shape_text",
]

def shape_text(shape: tuple[int, ...], declared: tuple[int, ...] = ()) -> str:
    """``1x8x8``, or ``1x8x8 (the data's; the prototype declares 3x32x32)``."""
    used = "x".join(str(n) for n in shape)
    if declared and tuple(declared) != tuple(shape):
        mine = "x".join(str(n) for n in declared)
        return f"{used} (the data's; the prototype declares {mine})"
    return used


def search_ended_text(event: SearchEnded) -> str:
    """Why the search stopped before its budget."""
    return (f"search ended after {fmt.plural(event.trials, 'trial')} of {event.planned}: "
            f"{event.reason}")


def search_extended_text(event: SearchExtended) -> str:
    """Why the search goes on after its budget, and with which bound."""
    has = (f"{event.members} of {event.wanted} members" if event.wanted
           else fmt.plural(event.members, "member"))
    if event.retrained:
        where = (f"MACs <= {event.max_macs:,}, below its members" if event.min_macs is None
                 else f"MACs from {event.min_macs:,} to {event.max_macs:,}, between its members")
        return (f"search extended (phase {event.phase}): the retrained family has {has}; up "
                f"to trial {event.trials} with {where}")
    if event.min_macs is not None:
        return (f"search extended (phase {event.phase}): the family has {has}; up to trial "
                f"{event.trials} with MACs >= {event.min_macs:,}, for a more accurate member "
                "above A")
    return (f"search extended (phase {event.phase}): the family has {has}; up to trial "
            f"{event.trials} with MACs <= {event.max_macs:,}")


def search_not_extended_text(event: SearchNotExtended) -> str:
    """Why a short family is not searched for further."""
    return (f"the family has {event.members} of {event.wanted} members; no further search: "
            f"{event.reason}")


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
    measure: str = "top-1"  # a trial's accuracy column: "top-1", or "score" (a supernet's)
    device: str = ""  # where this process trains
    latency_source: str = ""  # "predicted by phone.json (...)": a latency table predicts it
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
    family_size: int = 0  # members wanted (0: not known)
    epochs: int = 0  # proxy epochs per trial (0: not known)
    bounds: dict[str, float] = field(default_factory=dict)  # the constraint's bounds that are set
    phase: int = 0  # the search phase now running (see SearchExtended)
    below_family: bool = False  # a phase searches below the retrained family (not retraining)
    finished: bool = False
    interrupted: bool = False
    earlier: int = 0  # trials a resumed run had finished before its RunStarted
    input_shape: str = ""  # "1x8x8", with the prototype's own when the data's replaced it
    notice: str = ""  # the last word on widening the family (extended, or why not)
    supernet: SupernetPhase | None = None  # the supernet's training, when the run has one
    fidelity: FidelityChecked | None = None  # the run's check of its scores, once made
    resumed: str = ""  # what a resumed run found done before it (RunResumed), in words

    # -- derived views ----------------------------------------------------------------------

    @property
    def done(self) -> int:
        """Trials finished, in any state (with those a resumed run had finished before)."""
        return sum(self.counts.values()) + self.earlier

    @property
    def elapsed(self) -> float:
        return max(0.0, self.now - self.started_at) if self.started_at else 0.0

    @property
    def mean_seconds(self) -> float | None:
        """Mean wall time of a trial that trained; rejections (about 0 s) are left out."""
        return eta.mean_trial_seconds(self.trials)

    @property
    def estimate(self) -> eta.Estimate:
        """Seconds left in the search and in the retraining (:mod:`genesynth.record.eta`)."""
        return eta.estimate(self)

    @property
    def eta(self) -> float | None:
        """Seconds until the whole job ends (search, announced extra phases, retraining)."""
        return 0.0 if self.finished else self.estimate.total

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
            if t.state == TrialState.COMPLETE and t.feasible and t.utility is not None
        ]
        rows.sort(key=lambda t: (-(t.utility or 0.0), t.number))
        return rows[:limit]

    @property
    def reused(self) -> int:
        """Finished trials whose measurement came from the evaluation cache."""
        return sum(t.reused for t in self.trials)

    @property
    def best(self) -> TrialRow | None:
        top = self.leaderboard(1)
        return top[0] if top else None

    def forming(self, size: int, min_gap: float = MIN_GAP) -> list[TrialRow]:
        """The family as it forms during the search, largest first: the engine's rule
        (:func:`genesynth.record.selection.select`) over the feasible complete trials, so the
        panel shows what the family would be if the search ended now."""
        rows = [t for t in self.leaderboard(limit=len(self.trials))
                if t.macs and t.params is not None and t.accuracy is not None]
        options = [_Option(t.number, float(t.accuracy or 0.0), int(t.params or 0),
                           int(t.macs or 0), float(t.utility or 0.0)) for t in rows]
        by_number = {t.number: t for t in rows}
        return [by_number[o.trial] for o in select(options, size, min_gap)]

    @property
    def points(self) -> list[Point]:
        """Complete trials with a measured accuracy and a cost, for the Pareto view."""
        return [
            Point(t.number, t.macs, t.accuracy, t.feasible)
            for t in self.trials
            if t.state == TrialState.COMPLETE and t.accuracy is not None
            and math.isfinite(t.accuracy) and t.macs is not None and t.macs > 0
        ]

    # -- events -----------------------------------------------------------------------------

    def apply(self, event: Event) -> RunState:
        """Take one engine event into the snapshot; returns ``self`` for chaining."""
        if event.time:
            self.now = max(self.now, event.time)
        match event:
            case RunStarted():
                self._run_started(event)
            case RunResumed():
                self._resumed(event)
            case TrialStarted():
                self.running[event.number] = Candidate(
                    event.number, event.key, event.modules, event.params, event.macs,
                    event.epochs, started=event.time, updated=event.time,
                )
            case EpochDone():
                self._epoch_done(event)
            case TrialFinished():
                self._trial_finished(event)
            case SearchEnded():
                self.planned = event.trials
                self.notice = search_ended_text(event)
            case SearchExtended():
                self.planned, self.phase = event.trials, event.phase
                self.below_family = event.retrained
                self.notice = search_extended_text(event)
            case SearchNotExtended():
                self.notice = search_not_extended_text(event)
            case MemberDropped():
                self.family.pop(event.label, None)
            case MemberRenamed():
                member = self.family.pop(event.label, None)
                if member is not None:
                    member.label = event.new
                    self.family[event.new] = member
            case FamilyStarted():
                self.family_epochs, self.below_family = event.epochs, False
                before = self.family  # the members retrained before a phase below them
                self.family = {label: before[label] if label in event.retrained
                               and label in before else
                               Member(label, epochs=event.epochs, reused=label in event.cached,
                                      kept=label in event.kept)
                               for label in event.members}
            case MemberStarted() | MemberEpoch() | MemberDone():
                self._member(event)
            case SupernetProgress():
                self._supernet(event)
            case FidelityChecked():
                self.fidelity = event
            case AdaptStarted():
                self.notice = adapt_started_text(event)
            case AdaptStep():
                self.notice = adapt_step_text(event)
            case RunFinished():
                self.finished = True
                self.interrupted = event.interrupted
                self.running.clear()
        return self

    def _run_started(self, event: RunStarted) -> None:
        self.prototype, self.constraint, self.data = event.prototype, event.constraint, event.data
        self.sampler, self.seed, self.out = event.sampler, event.seed, event.out
        self.planned = event.trials
        self.utility_name, self.measure = event.utility, event.measure
        self.epochs, self.family_size = event.epochs, event.family_size
        self.family_epochs = event.full_epochs or self.family_epochs
        self.bounds = {
            name: value for name in BOUNDS
            if (value := getattr(event, name)) is not None
        }
        self.earlier = event.done
        self.input_shape = shape_text(event.input_shape, event.declared_shape)
        self.device = event.device
        self.latency_source = event.latency_source
        if event.time:
            self.started_at = event.time

    def _resumed(self, event: RunResumed) -> None:
        """The trials finished before this process started, counted as if seen finishing."""
        rows = [TrialRow(**row) for row in event.trials]
        for row in rows:
            self.counts[row.state if row.state in self.counts else TrialState.FAILED] += 1
        self.trials[:0] = rows
        self.earlier = max(0, self.earlier - len(rows))
        self.phase = max([self.phase, *(row.phase for row in rows)])
        counts = ", ".join(f"{n} {name}" for name, n in counted_states(self.counts).items()
                           if n)
        feasible = len(self.leaderboard(limit=len(self.trials)))
        best = self.best
        self.resumed = (f"resumed after {fmt.plural(len(rows), 'trial')} ({counts}; "
                        f"{feasible} feasible" + (f", best trial {best.number})" if best
                                                  else ")"))

    def resumed_text(self) -> str:
        """What a resumed run took up: ``resumed after 30 trials (28 complete, 2 pruned; 12
        feasible, best trial 7); A kept (retrained before the interrupt); B restarts from
        epoch 1 (...)``; "" when the run was not resumed."""
        if not self.resumed:
            return ""
        said = [self.resumed]
        for member in self.family.values():
            if member.kept:
                said.append(f"{member.label} kept (retrained before the interrupt)")
            elif member.restarted is not None:
                said.append(restart_text(member.label, member.restarted, member.epochs))
        return "; ".join(said)

    def _supernet(self, event: SupernetProgress) -> None:
        starts = not event.ready and not event.steps and event.loss is None
        if self.supernet is None or starts:
            self.supernet = SupernetPhase(event.epochs, event.epoch, first=event.epoch,
                                          estimate=event.eta if starts else None)
        phase = self.supernet
        phase.epoch, phase.epochs, phase.seconds = event.epoch, event.epochs, event.seconds
        if event.ready:
            phase.ready, phase.loaded, phase.step = True, event.loaded, 0
        elif event.steps:
            phase.step, phase.steps = event.step, event.steps
        elif event.loss is not None:
            phase.loss, phase.accuracy, phase.step = event.loss, event.accuracy, 0

    def _epoch_done(self, event: EpochDone) -> None:
        cand = self.running.get(event.number)
        if cand is None:
            cand = self.running[event.number] = Candidate(event.number, epochs=event.epochs)
        cand.epoch, cand.epochs = event.epoch, event.epochs
        cand.loss, cand.accuracy = event.loss, event.accuracy
        cand.updated = event.time

    def _trial_finished(self, event: TrialFinished) -> None:
        if event.state == TrialState.SKIPPED:
            self.skipped += 1
            self.running.pop(event.number, None)
            return
        state = event.state if event.state in self.counts else TrialState.FAILED
        self.counts[state] += 1
        cand = self.running.pop(event.number, None) or Candidate(event.number)
        row = TrialRow(
            event.number, state, event.accuracy, event.params, event.macs, event.latency_ms,
            event.utility, event.feasible, event.reason, event.seconds,
            cand.epoch if event.seconds > 0 else 0, self.phase, event.reused,
        )
        self.trials.append(row)
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
            member.started = member.updated = event.time
            member.restarted = event.reached if event.restarted else None
        elif isinstance(event, MemberEpoch):
            member.status, member.epoch, member.epochs = "training", event.epoch, event.epochs
            member.loss, member.accuracy = event.loss, event.accuracy
            member.updated = event.time
        else:
            member.status, member.trial, member.accuracy = "done", event.trial, event.accuracy
            member.params, member.macs = event.params, event.macs
            member.latency_ms = event.latency_ms
            member.measured_latency_ms = event.measured_latency_ms
            member.utility, member.feasible = event.utility, event.feasible
            member.reused = event.reused
            member.kept = member.kept or event.kept
            member.epoch = member.epochs


def restart_text(label: str, reached: int, epochs: int) -> str:
    """``B restarts from epoch 1 (its retraining was interrupted after epoch 2 of 15; ...)``."""
    where = (f"after epoch {reached} of {epochs}" if reached else "in its first epoch")
    return (f"{label} restarts from epoch 1 (its retraining was interrupted {where}; a "
            "member's retraining keeps no per-epoch checkpoint)")


def _amount(name: str, value: float) -> str:
    return fmt.latency(value) if name == "latency_ms" else fmt.count(value)


def _resource(name: str, value: float) -> str:
    what = {"macs": "MACs", "params": "params", "latency_ms": "latency"}.get(name, name)
    return f"{what} {_amount(name, value)}"


def adapt_started_text(event: AdaptStarted) -> str:
    """``adapt A -> A-macs553K: MACs 3.43M to 553K, about 9 iterations, then 15 epochs``."""
    again = f", resuming after iteration {event.done}" if event.done else ""
    goal = _amount(event.resource, event.target)
    return (f"adapt {event.member} -> {event.label}: {_resource(event.resource, event.start)} "
            f"to {goal}, about {fmt.plural(event.iterations, 'iteration')}, then "
            f"{fmt.plural(event.long_epochs, 'epoch')} of fine-tuning{again}")


def adapt_step_text(event: AdaptStep) -> str:
    """``adapt A-macs553K iteration 3: m05.b0.0 24 -> 16, MACs 1.2M (goal 1.21M), val 97.1%
    of 14 proposals; about 6 more, ETA 1m 20s``."""
    goal = _amount(event.resource, event.goal)
    return (f"adapt {event.label} iteration {event.iteration}: {event.unit} {event.width} -> "
            f"{event.new_width}, {_resource(event.resource, event.value)} (goal {goal}), "
            f"val {fmt.percent(event.accuracy, digits=2, space=False)} best of "
            f"{event.proposals}; "
            + (f"about {fmt.plural(event.remaining, 'more iteration')}" if event.remaining
               else "target met, fine-tuning next")
            + f", ETA {fmt.duration(event.eta_s)}")


@dataclass(frozen=True)
class _Option:
    """A feasible trial as :func:`genesynth.record.selection.select` reads it."""

    trial: int
    accuracy: float
    params: int
    macs: int
    utility: float
