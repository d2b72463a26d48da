"""What is known of one candidate after evaluation: the record every evaluator returns and
every goal (constraint, utility) reads."""

from __future__ import annotations

from dataclasses import dataclass, field


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
