"""Who makes the choices of a sample: the :class:`Chooser` protocol and two implementations.

The engine wraps an Optuna trial in a Chooser; :class:`RandomChooser` draws from a seeded
RNG; :class:`FixedChooser` replays a recorded assignment. Options passed are the literal
values of a list, or the option indices ``0..n-1`` of an alternative group, a slot choice or
an optional item (index 0 is the item, the last index its absence).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Protocol

from genesynth.errors import GenesynthError
from genesynth.net.arch import Value


class Chooser(Protocol):
    def categorical(self, name: str, options: Sequence[Value]) -> Value: ...

    def integer(self, name: str, low: int, high: int, step: int) -> int: ...


class RandomChooser:
    """Uniform choices from ``random.Random(seed)``."""

    def __init__(self, seed: int | None = None) -> None:
        self.rng = random.Random(seed)

    def categorical(self, name: str, options: Sequence[Value]) -> Value:
        return options[self.rng.randrange(len(options))]

    def integer(self, name: str, low: int, high: int, step: int) -> int:
        return low + step * self.rng.randrange((high - low) // step + 1)


class FixedChooser:
    """Replays ``values`` (e.g. from :meth:`Prototype.sample_with_choices`)."""

    def __init__(self, values: Mapping[str, Value]) -> None:
        self.values = dict(values)

    def _get(self, name: str) -> Value:
        if name not in self.values:
            raise GenesynthError(f"no value recorded for the choice '{name}'")
        return self.values[name]

    def categorical(self, name: str, options: Sequence[Value]) -> Value:
        value = self._get(name)
        if value not in options or type(value) is not type(options[list(options).index(value)]):
            raise GenesynthError(
                f"the recorded value {value!r} of '{name}' is not one of {list(options)}"
            )
        return value

    def integer(self, name: str, low: int, high: int, step: int) -> int:
        value = self._get(name)
        ok = isinstance(value, int) and not isinstance(value, bool)
        if not ok or not low <= int(value) <= high or (int(value) - low) % step:
            raise GenesynthError(
                f"the recorded value {value!r} of '{name}' is not in {low}..{high} step {step}"
            )
        return int(value)


class FirstChooser:
    """Always the first option (the lowest value of a range)."""

    def categorical(self, name: str, options: Sequence[Value]) -> Value:
        return options[0]

    def integer(self, name: str, low: int, high: int, step: int) -> int:
        return low


class LastChooser:
    """Always the last option (the highest value of a range)."""

    def categorical(self, name: str, options: Sequence[Value]) -> Value:
        return options[-1]

    def integer(self, name: str, low: int, high: int, step: int) -> int:
        return low + (high - low) // step * step
