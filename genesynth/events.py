"""Events the engine emits while it synthesizes. Listeners are plain callables.

The engine knows nothing of terminals: the dashboard, the plain log, a test or a remote
watcher attach by passing ``listeners=[callable, ...]``. Every event is a frozen dataclass
that serialises to a JSON object (:func:`event_to_dict` / :func:`event_from_dict`; flat but
for ``RunResumed``'s list of trial rows), so a run can be recorded and replayed.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RunStarted:
    prototype: str
    constraint: str
    data: str
    sampler: str
    seed: int
    out: str
    trials: int
    objectives: tuple[str, ...] = ("utility",)
    utility: str = "NetScore"
    time: float = 0.0
    # The constraint's bounds (None: not bounded), for the header and the accuracy line.
    min_accuracy: float | None = None  # top-1 %
    max_macs: int | None = None
    max_params: int | None = None
    max_latency_ms: float | None = None
    # The plan beyond the search, for the estimate of the whole job's time.
    epochs: int = 0  # proxy training epochs per trial (0: the evaluator does not train)
    family_size: int = 0  # family members wanted
    full_epochs: int = 0  # retraining epochs per member
    done: int = 0  # trials a resumed run had finished before
    input_shape: tuple[int, ...] = ()  # the shape the run builds its networks for (C, H, W)
    declared_shape: tuple[int, ...] = ()  # the prototype's own ``input``, when it differs
    device: str = ""  # where this process trains: "cpu", "cuda:0 (NVIDIA H100 ...)"
    measure: str = "top-1"  # what a trial's accuracy is: "top-1", or a supernet's "score"
    # Where a trial's latency comes from when a latency table predicts it, e.g. "predicted by
    # phone.json (onnxruntime 1.17.1, 1 thread)"; "" when it is measured on this machine.
    latency_source: str = ""


@dataclass(frozen=True)
class TrialStarted:
    number: int
    key: str  # canonical architecture hash
    modules: tuple[str, ...]  # one summary line per module, e.g. "m03 atto  pw 24 > g3x3/4 s2"
    params: int
    macs: int
    epochs: int
    time: float = 0.0


@dataclass(frozen=True)
class EpochDone:
    number: int
    epoch: int  # 1-based
    epochs: int
    loss: float | None  # None: nothing was trained (a supernet's score, a table's lookup)
    accuracy: float  # validation top-1, percent
    time: float = 0.0


@dataclass(frozen=True)
class TrialFinished:
    number: int
    state: str  # a genesynth.record.trial.TrialState (a str): how the trial ended
    key: str = ""
    accuracy: float | None = None  # validation top-1, percent
    params: int | None = None
    macs: int | None = None
    latency_ms: float | None = None
    utility: float | None = None
    feasible: bool = False
    reason: str = ""  # why pruned / infeasible / failed / duplicate of which trial
    seconds: float = 0.0
    time: float = 0.0
    reused: bool = False  # its measurement came from the evaluation cache (no training)


@dataclass(frozen=True)
class WarmStarted:
    """Earlier runs' architectures queued first (``synthesize --warm-start``)."""

    offered: int  # family members and best candidates of the earlier runs
    fitted: int  # those that fit the new prototype's space, queued
    message: str  # e.g. "warm start: 4 of 12 earlier architectures fit ..."
    time: float = 0.0


@dataclass(frozen=True)
class SearchExtended:
    """The family is short of members: more trials where one is missing (below the smallest
    member's MACs, or above member A's: ``min_macs``)."""

    trials: int  # the trials now planned in all
    max_macs: int  # the tightened MACs bound of this phase
    members: int  # family members found so far
    phase: int  # 1, 2, ...
    time: float = 0.0
    wanted: int = 0  # the family size asked for
    min_macs: int | None = None  # a phase above member A: networks with at least these MACs
    #: Planned on the retrained family (``members`` retrained, measured on the test split):
    #: below its smallest member, where top-1 falls once networks are fully trained, or
    #: between two members (``min_macs`` then bounds it below).
    retrained: bool = False


@dataclass(frozen=True)
class SearchEnded:
    """The search ended before its budget: the sampler has no untried network left inside
    the constraint's bounds (a small space). The family is made from the ``trials`` done."""

    trials: int  # trials counted when it ended
    planned: int  # the budget asked for
    reason: str
    time: float = 0.0


@dataclass(frozen=True)
class SearchNotExtended:
    """The family is short of members, and no further phase can help: why."""

    members: int
    wanted: int
    reason: str
    time: float = 0.0


@dataclass(frozen=True)
class SupernetProgress:
    """The weight-sharing supernet is training (before the search): ``epoch`` of ``epochs``
    done; ``accuracy`` is the largest network's validation top-1; ``ready`` once it is trained
    (``loaded``: it was in the run directory, nothing was trained; ``epoch == epochs``).
    Within an epoch, ``step`` of ``steps`` batches are done (0 of 0: an epoch's end).
    ``bounds`` is the space it is trained for (``MACs <= 40M, params <= 400K``), once ready;
    ``wider``, when set, the run's own bounds, inside those of a supernet trained before."""

    epoch: int
    epochs: int
    loss: float | None = None
    accuracy: float | None = None
    seconds: float = 0.0
    eta: float | None = None
    resumed: bool = False
    ready: bool = False
    time: float = 0.0
    loaded: bool = False
    step: int = 0
    steps: int = 0
    bounds: str = ""
    wider: str = ""


@dataclass(frozen=True)
class RunResumed:
    """Right after ``RunStarted`` of a process that finds finished trials in the study (a
    resumed run, a worker joining): those trials, as a view shows them (one dict of
    :class:`genesynth.record.rows.TrialRow`'s fields each, in trial order)."""

    trials: tuple[dict[str, Any], ...]
    time: float = 0.0


@dataclass(frozen=True)
class FamilyStarted:
    members: tuple[str, ...]  # labels "A", "B", ...
    epochs: int
    time: float = 0.0
    cached: tuple[str, ...] = ()  # the members whose retraining the evaluation cache holds
    kept: tuple[str, ...] = ()  # members retrained before an interrupt, kept (not retrained)
    #: Members retrained before the phase that searched below them, as they were (no events
    #: of theirs follow: the views keep what they showed).
    retrained: tuple[str, ...] = ()


@dataclass(frozen=True)
class MemberStarted:
    label: str
    trial: int  # the search trial it came from
    params: int
    macs: int
    epochs: int
    time: float = 0.0
    #: Its retraining had begun before an interrupt and starts again from epoch 1 (no
    #: per-epoch checkpoint of a member is kept); ``reached``: the epochs it had finished.
    restarted: bool = False
    reached: int = 0


@dataclass(frozen=True)
class MemberEpoch:
    label: str
    epoch: int
    epochs: int
    loss: float | None  # None: nothing was trained (a table's lookup)
    accuracy: float
    time: float = 0.0


@dataclass(frozen=True)
class MemberDone:
    label: str
    trial: int
    accuracy: float  # test top-1, percent
    params: int
    macs: int
    latency_ms: float | None
    utility: float
    feasible: bool
    time: float = 0.0
    measured_latency_ms: float | None = None  # here, when latency_ms is a table's prediction
    reused: bool = False  # its retraining came from the evaluation cache
    kept: bool = False  # retrained before an interrupt of this run: its record and weights kept


@dataclass(frozen=True)
class MemberDropped:
    """A retrained member beaten or equalled on accuracy, params and MACs by another."""

    label: str
    trial: int
    by: str  # the label of the member that dominates it
    reason: str
    replacement: int | None = None  # the trial retrained in its place, if any
    time: float = 0.0


@dataclass(frozen=True)
class MemberRenamed:
    """After a member was dropped, the ones below move up a letter."""

    label: str
    new: str
    trial: int
    time: float = 0.0


@dataclass(frozen=True)
class FidelityStarted:
    """After the family, ``count`` searched candidates are trained alone with the proxy
    budget (``epochs``) to check how well the evaluator's scores ranked them; ``kept`` of
    them were trained before (a resumed run: not again)."""

    count: int
    epochs: int
    time: float = 0.0
    kept: int = 0


@dataclass(frozen=True)
class AdaptStarted:
    """``genesynth adapt`` begins (or resumes) NetAdapt on a member."""

    member: str  # the member it adapts
    label: str  # the new member's label
    resource: str  # "macs", "params" or "latency_ms"
    start: float  # the member's resource
    target: float
    iterations: int  # planned, if every cut lands on its goal
    long_epochs: int
    done: int = 0  # iterations a resumed adapt had finished before
    time: float = 0.0


@dataclass(frozen=True)
class FidelityChecked:
    """How well the scores ranked candidates trained alone (Kendall tau-b with its bootstrap
    interval), beside MACs alone on the same ``candidates`` (``checks`` of them trained for
    the check, the others family members); ``warning`` when the scores did no better."""

    tau: float
    tau_low: float
    tau_high: float
    macs_tau: float
    macs_low: float
    macs_high: float
    candidates: int
    checks: int
    warning: str = ""
    time: float = 0.0


@dataclass(frozen=True)
class AdaptStep:
    """One NetAdapt iteration done: the proposal kept, and the estimate of what is left."""

    label: str
    iteration: int  # 1-based
    unit: str  # the channel group cut, e.g. "m05.b0.0"
    width: int  # its width before the cut
    new_width: int
    resource: str  # "macs", "params" or "latency_ms"
    value: float  # the resource after the cut
    goal: float
    accuracy: float  # validation top-1 after the short fine-tune
    proposals: int
    remaining: int  # iterations left, if every cut lands on its goal
    eta_s: float  # seconds left, the long fine-tune included
    time: float = 0.0


@dataclass(frozen=True)
class RunFinished:
    out: str
    family: int  # members produced
    interrupted: bool = False
    time: float = 0.0


Event = (
    RunStarted | TrialStarted | EpochDone | TrialFinished | SearchEnded | SearchExtended
    | SearchNotExtended
    | FamilyStarted | MemberStarted | MemberEpoch | MemberDone | MemberDropped | MemberRenamed
    | RunFinished | WarmStarted | SupernetProgress | AdaptStarted | AdaptStep
    | FidelityStarted | FidelityChecked | RunResumed
)
Listener = Callable[[Event], None]

EVENT_TYPES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        RunStarted, TrialStarted, EpochDone, TrialFinished, SearchEnded, SearchExtended,
        SearchNotExtended, FamilyStarted, MemberStarted, MemberEpoch, MemberDone,
        MemberDropped, MemberRenamed,
        RunFinished, WarmStarted, SupernetProgress, AdaptStarted, AdaptStep,
        FidelityStarted, FidelityChecked, RunResumed,
    )
}


def event_to_dict(event: Event) -> dict[str, Any]:
    return {"event": type(event).__name__, **dataclasses.asdict(event)}


def event_from_dict(data: Mapping[str, Any]) -> Event:
    fields = dict(data)
    cls = EVENT_TYPES[fields.pop("event")]
    for f in dataclasses.fields(cls):
        if isinstance(fields.get(f.name), list):
            fields[f.name] = tuple(fields[f.name])
    return cls(**fields)


class Emitter:
    """Sends each event to every listener; a failing listener never stops the engine.

    Each distinct listener error is logged once (logger ``genesynth``, a warning) and kept in
    ``errors``; the same error again, e.g. on every later event, is not repeated.
    """

    def __init__(self, listeners: list[Listener] | None = None) -> None:
        self.listeners = list(listeners or [])
        self.errors: list[str] = []

    def __call__(self, event: Event) -> None:
        for listener in self.listeners:
            try:
                listener(event)
            except Exception as exc:  # a UI bug must not lose a run
                message = f"{_name(listener)}: {type(exc).__name__}: {exc}"
                if message not in self.errors:
                    self.errors.append(message)
                    logging.getLogger("genesynth").warning(
                        "an event listener failed (the run goes on): %s", message
                    )


def _name(listener: Listener) -> str:
    return getattr(listener, "__qualname__", None) or type(listener).__qualname__
