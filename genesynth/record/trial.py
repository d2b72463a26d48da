"""The typed record of one trial, kept in the Optuna trial's ``user_attrs``.

The engine writes it field by field while the trial runs (:func:`record`), so a watcher sees a
running candidate; readers turn a trial's attributes back into a :class:`TrialRecord`
(:meth:`TrialRecord.of`). A field that was never written is None, and an attribute of the
wrong type reads as None (a damaged or foreign study never breaks a view). The keys and their
meaning are listed in docs/run-directory.md.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


class TrialState(enum.StrEnum):
    """How a trial ended: the ``state`` of its record (a ``str``, so JSON, Optuna's user
    attributes and events keep the plain word), or RUNNING while it runs (never recorded: the
    attribute is absent until the trial ends)."""

    COMPLETE = "complete"  # trained (or reused, or scored) and scored by the utility
    PRUNED = "pruned"  # stopped by the pruner part-way through training
    INFEASIBLE = "infeasible"  # legacy: over a cost bound, counted (runs made before skipping)
    FAILED = "failed"  # the evaluation raised
    DUPLICATE = "duplicate"  # the same network as an earlier trial, whose result it copies
    INVALID = "invalid"  # the sample does not fit the shapes
    SKIPPED = "skipped"  # outside the static bounds: drawn again, not counted as a trial
    RUNNING = "running"  # being evaluated (a view's word, never a record's)

    @property
    def legacy(self) -> bool:
        """Written only by older versions: read, counted, never written again."""
        return self in LEGACY_STATES


#: States older versions wrote and this one only reads.
LEGACY_STATES = frozenset({TrialState.INFEASIBLE})
#: The final states of a counted trial, in the order the views list them.
TRIAL_STATES: tuple[TrialState, ...] = (
    TrialState.COMPLETE, TrialState.PRUNED, TrialState.INFEASIBLE, TrialState.FAILED,
    TrialState.DUPLICATE, TrialState.INVALID,
)


def state_of(value: Any) -> TrialState | None:
    """The state ``value`` names (a string as recorded); None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        return TrialState(value)
    except ValueError:
        return None


def counted_states(counts: Mapping[str, int]) -> dict[TrialState, int]:
    """``counts`` by state in the views' order: a legacy state only where a trial has it."""
    return {s: counts.get(s, 0) for s in TRIAL_STATES if not s.legacy or counts.get(s, 0)}


@dataclass(frozen=True)
class TrialRecord:
    """What one trial recorded; every field is optional (None: not recorded)."""

    state: TrialState | None = None  # once finished (absent while it runs, or unknown)
    key: str | None = None  # canonical architecture hash
    arch: str | None = None  # the architecture as JSON
    params: int | None = None  # analytic cost
    macs: int | None = None
    accuracy: float | None = None  # validation top-1, percent
    latency_ms: float | None = None  # measured when the constraint bounds latency
    utility: float | None = None
    feasible: bool | None = None
    reason: str | None = None  # why pruned / infeasible / failed / a duplicate of which trial
    curve: tuple[float, ...] | None = None  # validation accuracy after each epoch
    seconds: float | None = None  # wall time of the trial
    phase: int | None = None  # 1, 2, ...: a phase that widens a short family (absent: search)
    worker: str | None = None  # the process that ran it, on a shared storage
    reused: str | None = None  # measured before (evaluation cache): by this run and trial
    warm_start: str | None = None  # queued by --warm-start from this earlier run and trial

    def to_attrs(self) -> dict[str, Any]:
        """The user_attrs of this record: recorded fields only, JSON types."""
        return _encode({f.name: getattr(self, f.name) for f in dataclasses.fields(self)})

    @classmethod
    def from_attrs(cls, attrs: Mapping[str, Any]) -> TrialRecord:
        """The record in ``attrs``; unknown keys are ignored, wrongly typed ones read as None."""
        return cls(**{name: _decode(kind, attrs.get(name)) for name, kind in _KINDS.items()})

    @classmethod
    def of(cls, trial: Any) -> TrialRecord:
        """The record of an Optuna trial (``FrozenTrial`` or live ``Trial``)."""
        return cls.from_attrs(trial.user_attrs)

    @property
    def finished(self) -> bool:
        """The trial ran to one of :data:`TRIAL_STATES`: not lost mid-way, and not a sample
        skipped outside the static bounds (which costs no budget)."""
        return self.state in TRIAL_STATES

    @property
    def measured(self) -> bool:
        """Its result can stand for the same network again (not invalid or infeasible)."""
        return self.finished and self.state not in (TrialState.INVALID, TrialState.INFEASIBLE)


def architectures(trials: Iterable[Any]) -> dict[int, str]:
    """Trial number -> the architecture JSON it recorded, for the trials that recorded one."""
    found = {trial.number: TrialRecord.of(trial).arch for trial in trials}
    return {number: arch for number, arch in found.items() if arch is not None}


def record(trial: Any, **fields: Any) -> None:
    """Write ``fields`` (names of :class:`TrialRecord` fields) to a live Optuna trial."""
    for name, value in _encode(fields).items():
        trial.set_user_attr(name, value)


def _encode(fields: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - set(_KINDS)
    if unknown:
        raise TypeError(f"not TrialRecord fields: {', '.join(sorted(unknown))}")
    return {name: list(value) if isinstance(value, tuple) else value
            for name, value in fields.items() if value is not None}


_KINDS: dict[str, str] = {
    "state": "state", "key": "str", "arch": "str", "params": "int", "macs": "int",
    "accuracy": "float", "latency_ms": "float", "utility": "float", "feasible": "bool",
    "reason": "str", "curve": "curve", "seconds": "float", "phase": "int", "worker": "str",
    "reused": "str", "warm_start": "str",
}


def _decode(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "state":
        return state_of(value)
    if kind == "bool":
        return value if isinstance(value, bool) else None
    if isinstance(value, bool):
        return None
    if kind == "str":
        return value if isinstance(value, str) else None
    if kind == "int":
        return value if isinstance(value, int) else None
    if kind == "float":
        return float(value) if isinstance(value, int | float) else None
    if isinstance(value, list | tuple) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value
    ):
        return tuple(float(v) for v in value)
    return None
