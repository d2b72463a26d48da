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
#: The networks one :meth:`Pool.steer` builds at most (5-9 ms each on a busy 2-core CPU).
STEER_WORK = 600
#: The step of a walk, in the distance's units (log-ratios of a bound: 0.15 is ~14 % MACs).
STEER_STEP = 0.15


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


def _options(info: ChoiceInfo, rng: random.Random, most: int = 8) -> Sequence[Value]:
    """The options of a choice, or ``most`` of them drawn at random (a wide integer range)."""
    options: Sequence[Value] = (info.options if info.kind == "categorical" else
                                range(info.low, info.high + 1, info.step))
    return options if len(options) <= most else rng.sample(list(options), most)


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
        or None when ``work`` networks were built without reaching it. Gently, as NetAdapt
        shrinks a good network: one random choice at a time tries its other options and,
        of those that bring the network closer, takes the one nearest a step of
        ``STEER_STEP`` (about 14 % fewer MACs: a narrower layer, not a stride that quarters
        every map after it). Random, so each walk from the same network
        ends elsewhere; never :func:`~genesynth.space.bounds.descend_macs`'s sweep, which
        takes every early choice to its smallest option before it touches the late ones.
        (Proxy-trained on digits, nine such walks from the main job's best networks into a
        phase's bound averaged 94.0 % top-1, the worst 91.1 %; nine that took any closer
        option at random averaged 90.5 %, the worst 81.9 %.)"""
        infos = {info.name: info for info in self.prototype.choices()}
        current, gap, built = start, distance(start), 0
        while gap > 0 and built < work:
            name = self.rng.choice([n for n in current.values if n in infos])
            closer = []
            for option in _options(infos[name], self.rng):
                if option != current.values[name]:
                    built += 1
                    entry = _entry(self.prototype, MutatingChooser(
                        {**current.values, name: option}, self.rng, 0.0), self.costs)
                    if entry is not None and distance(entry) < gap:
                        closer.append(entry)
            if closer:  # the step nearest STEER_STEP closer
                aim = max(0.0, gap - STEER_STEP)
                current = min(closer, key=lambda e: (abs(distance(e) - aim), e.key))
                gap = distance(current)
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
