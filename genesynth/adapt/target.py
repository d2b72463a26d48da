"""What adapt aims at (:class:`Target`) and how fast it gets there (:class:`Schedule`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from genesynth.errors import ConstraintError, GenesynthError
from genesynth.fmt import count
from genesynth.goal.constraint import parse_count

RESOURCES = ("macs", "params", "latency_ms")
FLOOR = 0.1  # the smallest step, as a fraction of the first
NAMES = {"macs": "MACs", "params": "params", "latency_ms": "latency"}


class AdaptError(GenesynthError):
    """A target adapt cannot reach, or a run or member it cannot adapt."""


@dataclass(frozen=True)
class Target:
    """A resource bound the adapted network must meet: ``resource <= value``."""

    resource: str
    value: float

    def __post_init__(self) -> None:
        if self.resource not in RESOURCES:
            raise AdaptError(f"`resource` must be one of {', '.join(RESOURCES)}, but got "
                             f"resource={self.resource!r}")
        if not (math.isfinite(self.value) and self.value > 0):
            raise AdaptError(f"`value` must be positive, but got value={self.value!r}")

    @staticmethod
    def parse(text: str) -> Target:
        """``macs=553440``, ``macs=550K``, ``params=30K`` or ``latency_ms=2.5``."""
        name, sep, value = text.partition("=")
        name = name.strip()
        if not sep or name not in RESOURCES:
            raise AdaptError(f"--target must be RESOURCE=VALUE with RESOURCE one of "
                             f"{', '.join(RESOURCES)}, but got {text!r}")
        if name == "latency_ms":
            try:
                number = float(value)
            except ValueError:
                raise AdaptError(f"--target latency_ms: expected milliseconds such as 2.5, "
                                 f"but got {value.strip()!r}") from None
            return Target(name, number)
        try:
            return Target(name, float(parse_count(value.strip(), f"--target {name}")))
        except ConstraintError as exc:
            raise AdaptError(str(exc)) from None

    def show(self, value: float | None = None) -> str:
        """``MACs 553K`` (the target's value, or ``value``)."""
        v = self.value if value is None else value
        if self.resource == "latency_ms":
            return f"latency {v:.3g} ms"
        return f"{NAMES[self.resource]} {count(v, fixed=False)}"

    @property
    def slug(self) -> str:
        """The target in a label: ``macs553K``, ``params30K``, ``macs54_8K``, ``lat2_5ms``."""
        if self.resource == "latency_ms":
            return f"lat{self.value:g}ms".replace(".", "_")
        return f"{self.resource}{count(self.value, fixed=False)}".replace(".", "_")


@dataclass(frozen=True)
class Schedule:
    """NetAdapt's decaying resource schedule: iteration ``k`` asks for a cut of
    ``first * decay**k`` of the starting resource, never less than a tenth of the first cut
    (so every schedule gets there) and never past the target.

    The defaults are NetAdapt's gentler end: measured against ``first=0.1, decay=0.9`` on a
    CIFAR-10 subset they kept 4.3 points more test top-1 for 1.8x the time, and gave the same
    top-1 on digits (docs/adapt.md, "Which schedule")."""

    first: float = 0.05
    decay: float = 0.95

    def __post_init__(self) -> None:
        if not 0 < self.first <= 1:
            raise AdaptError(f"`first` must be in (0, 1], but got first={self.first}")
        if not 0 < self.decay <= 1:
            raise AdaptError(f"`decay` must be in (0, 1], but got decay={self.decay}")

    def step(self, iteration: int, start: float) -> float:
        return start * self.first * max(self.decay**iteration, FLOOR)

    def goal(self, iteration: int, start: float, current: float, target: float) -> float:
        """The resource iteration ``iteration`` must reach."""
        return max(target, current - self.step(iteration, start))

    def remaining(self, iteration: int, start: float, current: float, target: float,
                  most: int = 1000) -> int:
        """Iterations still needed if every cut lands exactly on its goal."""
        count = 0
        while current > target and count < most:
            current = self.goal(iteration + count, start, current, target)
            count += 1
        return count
