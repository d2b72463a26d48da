"""A pool of candidates drawn from a prototype, costed analytically and de-duplicated.

Two users share it: the model-based sampler (:mod:`genesynth.synth.samplers.bayes`) chooses
among its entries inside the constraint's static bounds, and the supernet
(:mod:`genesynth.evaluate.supernet.space`) is sized for and trained on the same bounded
networks. Every entry is a distinct network (canonical key) with the choices that make it and
its exact params and MACs. A small space is enumerated once; a large one starts from random
samples and grows on demand by fresh samples and by mutations of promising entries.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from genesynth.errors import ShapeError
from genesynth.net.arch import Value
from genesynth.net.costs import CostCache
from genesynth.space.bounds import Odometer
from genesynth.space.choices import ChoiceInfo
from genesynth.space.choosers import Chooser, RandomChooser
from genesynth.space.prototype import Prototype


class StaticBounds(Protocol):
    """Bounds a network's analytic cost is judged by: a Constraint, a supernet's space."""

    def static_violations(self, params: int, macs: int) -> list[str]: ...

#: Spaces with at most this many assignments are enumerated whole (a few seconds, once).
ENUMERATE_LIMIT = 8192
#: A drawn pool stops growing at this many networks (each trial's proposal stays fast).
POOL_LIMIT = 20000
#: The networks one :meth:`Pool.steer` builds at most (a few hundred milliseconds).
STEER_WORK = 250


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


def _entry(prototype: Prototype, chooser: Chooser, costs: CostCache) -> Entry | None:
    try:
        arch, values = prototype.sample_with_choices(chooser=chooser)
    except ShapeError:
        return None
    c = costs(arch)
    return Entry(arch.key, values, c.params, c.macs)


@lru_cache(maxsize=4)
def _enumerated(prototype: Prototype) -> tuple[Entry, ...]:
    """Every distinct network of a small space (cached: a pure function of the prototype)."""
    odometer = Odometer(lambda name: True, {})
    found: dict[str, Entry] = {}
    costs = CostCache()
    while True:
        entry = _entry(prototype, odometer, costs)
        if entry is not None:
            found.setdefault(entry.key, entry)
        if not odometer.advance():
            return tuple(found.values())


def _other(info: ChoiceInfo, value: Value, rng: random.Random) -> Value:
    """A random option of ``info`` other than ``value`` (``value`` when it has no other)."""
    if info.kind == "categorical":
        options = [o for o in info.options if o != value] or [value]
        return options[rng.randrange(len(options))]
    if info.size <= 1:
        return value
    index, at = rng.randrange(info.size - 1), (int(value) - info.low) // info.step
    return info.low + info.step * (index + (index >= at))


class Pool:
    """The candidates of one prototype inside static bounds, growing on demand.

    Every network is sampled and costed once (its modules costed once each, by
    :class:`~genesynth.net.costs.CostCache`); :meth:`inside` keeps, per constraint, the entries
    inside its static bounds, checking only the entries added since it last looked.
    """

    def __init__(self, prototype: Prototype, rng: random.Random, start: int = 1000) -> None:
        self.prototype = prototype
        self.rng = rng
        self.entries: dict[str, Entry] = {}
        self.costs = CostCache()
        self._inside: tuple[Any, list[Entry], int] | None = None  # constraint, entries, seen
        self.complete = prototype.space_size <= ENUMERATE_LIMIT
        if self.complete:
            self.add(_enumerated(prototype))
        else:
            self.grow(start)

    def add(self, entries: Iterable[Entry | None]) -> None:
        for entry in entries:
            if entry is not None:
                self.entries.setdefault(entry.key, entry)

    @property
    def full(self) -> bool:
        """Whether nothing more will be drawn (an enumerated space, or the limit reached)."""
        return self.complete or len(self.entries) >= POOL_LIMIT

    def grow(self, draws: int, around: Sequence[Entry] = (), rate: float = 0.0) -> None:
        """``draws`` random samples, or with ``around`` as many mutations spread over it."""
        if self.full or draws <= 0:
            return
        if around:
            self.add(_entry(self.prototype, MutatingChooser(around[i % len(around)].values,
                                                             self.rng, rate), self.costs)
                     for i in range(draws))
        else:
            self.add(_entry(self.prototype, RandomChooser(self.rng.getrandbits(32)), self.costs)
                     for _ in range(draws))

    def steer(self, start: Entry, distance: Callable[[Entry], float], work: int = STEER_WORK
              ) -> Entry | None:
        """A network near ``start`` at ``distance`` 0 (inside some bounds), added to the pool,
        or None when ``work`` networks were built without reaching it: one random choice at
        a time takes a random other option, kept when it brings the network closer. A
        random walk rather than :func:`~genesynth.space.bounds.descend_macs`'s sweep: each
        walk from the same network ends elsewhere, and none takes every early choice to its
        smallest option before it touches the late ones (NetAdapt shrinks a good network
        the same way, step by step, but measures each step)."""
        infos = {info.name: info for info in self.prototype.choices()}
        current, gap = start, distance(start)
        for _ in range(work):
            if gap <= 0:
                break
            name = self.rng.choice([n for n in current.values if n in infos])
            values = {**current.values, name: _other(infos[name], current.values[name],
                                                     self.rng)}
            entry = _entry(self.prototype, MutatingChooser(values, self.rng, 0.0), self.costs)
            if entry is not None and (closer := distance(entry)) < gap:
                current, gap = entry, closer
        if gap > 0:
            return None
        self.add([current])
        return current

    def inside(self, constraint: StaticBounds) -> list[Entry]:
        """The entries inside ``constraint``'s static bounds (params, MACs), in pool order."""
        if self._inside is None or self._inside[0] is not constraint:
            self._inside = (constraint, [], 0)
        _, found, seen = self._inside
        if seen < len(self.entries):
            new = itertools.islice(self.entries.values(), seen, None)
            found += [e for e in new if not constraint.static_violations(e.params, e.macs)]
            self._inside = (constraint, found, len(self.entries))
        return found
