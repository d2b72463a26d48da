"""A pool of candidates drawn from a prototype, costed analytically and de-duplicated.

Two users share it: the model-based sampler (:mod:`genesynth.synth.bayes`) chooses among its
entries inside the constraint's static bounds, and the supernet (:mod:`genesynth.evaluate.
supernet.space`) is sized for and trained on them. Every entry is a distinct network
(canonical key) with the choices that make it and its exact params and MACs. A small space is
enumerated once; a large one starts from random samples and grows on demand by fresh samples
and by mutations of promising entries.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from genesynth.arch import Value
from genesynth.costs import cost
from genesynth.errors import ShapeError
from genesynth.space.bounds import Odometer
from genesynth.space.choosers import Chooser, RandomChooser
from genesynth.space.prototype import Prototype

#: Spaces with at most this many assignments are enumerated whole (a few seconds, once).
ENUMERATE_LIMIT = 8192
#: A drawn pool stops growing at this many networks (each trial's proposal stays fast).
POOL_LIMIT = 20000


@dataclass(frozen=True)
class Entry:
    """One distinct network of the space."""

    key: str
    values: Mapping[str, Value]
    params: int
    macs: int


class MutatingChooser:
    """Keeps each choice of ``base`` with probability ``1 - rate``, else draws it anew; a
    choice ``base`` lacks (another branch of the space) is drawn."""

    def __init__(self, base: Mapping[str, Value], rng: random.Random, rate: float) -> None:
        self.base, self.rng, self.rate = base, rng, rate

    def categorical(self, name: str, options: Sequence[Value]) -> Value:
        kept = self.base.get(name)
        if kept is not None and kept in options and self.rng.random() >= self.rate:
            return kept
        return options[self.rng.randrange(len(options))]

    def integer(self, name: str, low: int, high: int, step: int) -> int:
        kept = self.base.get(name)
        if isinstance(kept, int) and low <= kept <= high and self.rng.random() >= self.rate:
            return kept
        return low + step * self.rng.randrange((high - low) // step + 1)


def _entry(prototype: Prototype, chooser: Chooser) -> Entry | None:
    try:
        arch, values = prototype.sample_with_choices(chooser=chooser)
    except ShapeError:
        return None
    c = cost(arch)
    return Entry(arch.key, values, c.params, c.macs)


@lru_cache(maxsize=4)
def _enumerated(prototype: Prototype) -> tuple[Entry, ...]:
    """Every distinct network of a small space (cached: a pure function of the prototype)."""
    odometer = Odometer(lambda name: True, {})
    found: dict[str, Entry] = {}
    while True:
        entry = _entry(prototype, odometer)
        if entry is not None:
            found.setdefault(entry.key, entry)
        if not odometer.advance():
            return tuple(found.values())


class Pool:
    """The candidates of one prototype inside static bounds, growing on demand."""

    def __init__(self, prototype: Prototype, rng: random.Random, start: int = 1000) -> None:
        self.prototype = prototype
        self.rng = rng
        self.entries: dict[str, Entry] = {}
        self.complete = prototype.space_size <= ENUMERATE_LIMIT
        if self.complete:
            self.add(_enumerated(prototype))
        else:
            self.grow(start)

    def add(self, entries: Iterable[Entry | None]) -> None:
        for entry in entries:
            if entry is not None:
                self.entries.setdefault(entry.key, entry)

    def grow(self, draws: int, around: Sequence[Entry] = (), rate: float = 0.0) -> None:
        """``draws`` random samples, plus as many mutations spread over ``around``."""
        if self.complete or len(self.entries) >= POOL_LIMIT:
            return
        self.add(_entry(self.prototype, RandomChooser(self.rng.getrandbits(32)))
                 for _ in range(draws))
        if around:
            self.add(_entry(self.prototype, MutatingChooser(around[i % len(around)].values,
                                                             self.rng, rate))
                     for i in range(draws))

    def inside(self, admits: Callable[[Entry], bool], wanted: int, draws: int = 200
               ) -> list[Entry]:
        """The entries ``admits`` keeps, after growing the pool (``draws`` random samples at
        a time, up to :data:`POOL_LIMIT` networks) until it holds ``wanted`` of them or can
        hold no more. Ordered by key, so the same pool gives the same list."""
        while True:
            found = [e for e in self.entries.values() if admits(e)]
            if len(found) >= wanted or self.complete or len(self.entries) >= POOL_LIMIT:
                return sorted(found, key=lambda e: e.key)
            before = len(self.entries)
            self.grow(draws)
            if len(self.entries) == before:  # the space holds no more distinct networks
                return sorted(found, key=lambda e: e.key)
