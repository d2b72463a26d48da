"""The evaluator extension point and what it returns.

An evaluator turns an architecture into a :class:`Measurement`. It may call ``report(epoch,
accuracy)`` after each epoch so that a pruner can stop a hopeless candidate; ``report``
raises :class:`Pruned` when it should stop. A candidate that cannot be evaluated (diverging
loss, ...) raises :class:`CandidateFailed`; neither ends the run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from genesynth.arch import Architecture

Report = Callable[[int, float, float], None]
"""``report(epoch, loss, accuracy)``: epoch is 1-based, accuracy is validation top-1 in %."""


@dataclass(frozen=True)
class Measurement:
    """What is known of one candidate after evaluation."""

    accuracy: float  # top-1 in percent
    params: int
    macs: int
    latency_ms: float | None = None
    curve: tuple[float, ...] = field(default=())  # accuracy after each epoch
    loss: float | None = None
    seconds: float = 0.0


class Pruned(Exception):
    """Raised by ``report`` when the pruner stops the candidate."""

    def __init__(self, epoch: int, accuracy: float) -> None:
        super().__init__(f"pruned after epoch {epoch} at {accuracy:.2f}%")
        self.epoch = epoch
        self.accuracy = accuracy


class CandidateFailed(Exception):
    """The candidate cannot be evaluated (e.g. non-finite loss); the run goes on."""


@runtime_checkable
class Evaluator(Protocol):
    """Turns an architecture into a measurement.

    ``evaluate`` is called once per distinct architecture, in the process that runs the
    trial. ``params`` and ``macs`` of the returned measurement are the analytic cost.
    """

    def evaluate(self, arch: Architecture, report: Report) -> Measurement: ...
