"""The rows of a run's snapshot: a trial in training, a finished trial, a family member, the
supernet's training.

Plain records that :class:`~genesynth.record.snapshot.RunState` holds, the reader fills from a
study and the ETA (:mod:`genesynth.record.eta`) reads; they import only the trial states.
"""

from __future__ import annotations

from dataclasses import dataclass

from genesynth.record.trial import TrialState

#: The constraint's bounds, as RunStarted and run.json's ``constraint.bounds`` name them.
BOUNDS = ("min_accuracy", "max_macs", "max_params", "max_latency_ms")


@dataclass
class Candidate:
    """A trial being trained (``state`` RUNNING) or the last one that finished."""

    number: int
    key: str = ""
    modules: tuple[str, ...] = ()
    params: int | None = None
    macs: int | None = None
    epochs: int = 0
    epoch: int = 0
    loss: float | None = None
    accuracy: float | None = None  # validation top-1 after the last epoch, percent
    state: str = TrialState.RUNNING
    reason: str = ""
    started: float = 0.0  # when the trial started (event time; 0 when unknown)
    updated: float = 0.0  # when its last epoch ended


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
    epochs: int = 0  # epochs it trained (0: rejected before training, or not known)
    phase: int = 0  # 0: the search; 1, 2, ...: an extra phase widening the family
    reused: bool = False  # measured before: from the evaluation cache, no training


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
    measured_latency_ms: float | None = None  # here, when latency_ms is a table's prediction
    utility: float | None = None
    feasible: bool | None = None
    started: float = 0.0  # when its retraining started (event time; 0 when unknown)
    updated: float = 0.0  # when its last epoch ended
    reused: bool = False  # its retraining comes (or came) from the evaluation cache
    kept: bool = False  # retrained before an interrupt of the run: kept, not retrained
    #: Its retraining had begun before an interrupt and started again from epoch 1 (the
    #: epochs it had finished then); None when it did not.
    restarted: int | None = None


@dataclass
class SupernetPhase:
    """The weight-sharing supernet's training before the search (``--evaluator supernet``)."""

    epochs: int
    epoch: int = 0  # epochs done
    first: int = 0  # epochs done before this process started (a resumed training's)
    step: int = 0  # batches done in the epoch under way, of ``steps``
    steps: int = 0
    loss: float | None = None  # the largest network's mean training loss in the last epoch
    accuracy: float | None = None  # the largest network's validation top-1 after it
    seconds: float = 0.0  # training time in this process so far
    ready: bool = False
    loaded: bool = False  # taken from the run directory, nothing trained here
    estimate: float | None = None  # seconds, estimated before its first step (timed passes)
