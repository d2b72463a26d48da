"""The space a supernet is trained for: the prototype within the constraint's static bounds.

A search never picks a network over the constraint's MACs or params bound, so the supernet
should neither train one nor hold weights for one. :class:`SpaceBounds` are those bounds (as
recorded in the checkpoint); :class:`BoundedSpace` is the prototype inside them: its
networks come from the same pool the ``bayes`` sampler proposes from
(:class:`genesynth.space.pool.Pool`), its largest and smallest networks (the sandwich's ends)
are the extremes inside the bounds, and :meth:`BoundedSpace.draw` gives the sandwich's random
samples. Without bounds (no constraint, or one without a MACs or params bound) it is the
whole space, as before.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from genesynth import fmt
from genesynth.errors import ShapeError
from genesynth.evaluate.supernet.plan import (
    RecordedChooser,
    SupernetError,
    coverage_samples,
    extreme_choices,
    plan_samples,
)
from genesynth.net.arch import Architecture, Value
from genesynth.net.costs import cost
from genesynth.space.choosers import FixedChooser, RandomChooser
from genesynth.space.pool import Entry, Pool

if TYPE_CHECKING:
    from genesynth.goal.constraint import Constraint
    from genesynth.space import Prototype

#: Random samples drawn at a time while the pool holds too few networks inside the bounds.
DRAWS = 200


@dataclass(frozen=True)
class SpaceBounds:
    """The static bounds a supernet is trained for (None: unbounded)."""

    max_macs: int | None = None
    max_params: int | None = None

    @classmethod
    def of(cls, constraint: Constraint | None) -> SpaceBounds:
        """The MACs and params bounds of a :class:`genesynth.Constraint` (or none for None)."""
        if constraint is None:
            return cls()
        return cls(constraint.max_macs, constraint.max_params)

    @classmethod
    def from_dict(cls, raw: Any) -> SpaceBounds:
        """The bounds a checkpoint header records; a header without any is unbounded."""
        if not isinstance(raw, Mapping):
            return cls()
        return cls(_count(raw.get("max_macs")), _count(raw.get("max_params")))

    def to_dict(self) -> dict[str, int | None]:
        return asdict(self)

    def static_violations(self, params: int, macs: int) -> list[str]:
        """The bounds broken, as a :class:`genesynth.Constraint` says (the pool reads it)."""
        return [] if self.admits(macs, params) else [self.describe()]

    def admits(self, macs: int, params: int) -> bool:
        return ((self.max_macs is None or macs <= self.max_macs)
                and (self.max_params is None or params <= self.max_params))

    def covers(self, other: SpaceBounds) -> bool:
        """Whether every network inside ``other`` is inside these bounds (these are wider)."""
        return (_wider(self.max_macs, other.max_macs)
                and _wider(self.max_params, other.max_params))

    def describe(self) -> str:
        """``MACs <= 40M, params <= 400K`` or ``unbounded``."""
        parts = [f"{name} <= {fmt.count(value, fixed=False)}" for name, value in
                 (("MACs", self.max_macs), ("params", self.max_params)) if value is not None]
        return ", ".join(parts) or "unbounded"


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _wider(mine: int | None, theirs: int | None) -> bool:
    return mine is None or (theirs is not None and mine >= theirs)


class BoundedSpace:
    """The networks of ``prototype`` inside ``bounds``, for sizing and training a supernet.

    ``networks`` in-bounds networks are drawn (seeded) from the prototype's pool and kept:
    they size the slots (with the extremes) and the sandwich's random samples are drawn from
    them. An unbounded space draws fresh random samples instead (the whole space).
    """

    def __init__(self, prototype: Prototype, bounds: SpaceBounds, networks: int, seed: int = 0
                 ) -> None:
        self.prototype = prototype
        self.bounds = bounds
        self.bounded = bounds != SpaceBounds()
        self.entries: list[Entry] = []
        self._extremes: tuple[dict[str, Value], dict[str, Value]] | None = None
        if self.bounded:
            pool = Pool(prototype, random.Random(seed), start=min(networks, 1000))
            self.entries = _fill(pool, bounds, networks)
            if not self.entries:
                raise SupernetError(
                    f"none of the {len(pool.entries):,} networks drawn from the prototype "
                    f"'{prototype.name}' is inside the constraint's bounds "
                    f"({bounds.describe()}): widen the bounds or the prototype's choices")

    def arch(self, entry: Entry) -> Architecture:
        return self.prototype.sample(chooser=FixedChooser(dict(entry.values)))

    def extremes(self) -> tuple[Architecture, Architecture]:
        """The largest and the smallest network inside the bounds (MACs, then params): the
        pool's, improved by coordinate search that never leaves the bounds."""
        largest, smallest = self.extreme_choices()
        return (self.prototype.sample(chooser=FixedChooser(largest)),
                self.prototype.sample(chooser=FixedChooser(smallest)))

    def extreme_choices(self) -> tuple[dict[str, Value], dict[str, Value]]:
        """The choices of :meth:`extremes`' networks (found once)."""
        if self._extremes is None:
            found = []
            for largest in (True, False):
                if not self.bounded:
                    found.append(extreme_choices(self.prototype, largest))
                    continue
                sign = 1 if largest else -1
                start = max(self.entries, key=lambda e: (sign * e.macs, sign * e.params))
                found.append(extreme_choices(self.prototype, largest, start=dict(start.values),
                                             admits=self._admits_arch))
            self._extremes = (found[0], found[1])
        return self._extremes

    def _admits_arch(self, arch: Architecture) -> bool:
        c = cost(arch)
        return self.bounds.admits(c.macs, c.params)

    def plan_samples(self, count: int, seed: int) -> list[Architecture]:
        """The samples the slots are sized from: the extremes first, then (unbounded) the
        coverage samples and ``count`` random ones, or (bounded) the coverage samples inside
        the bounds and every kept network."""
        if not self.bounded:
            return plan_samples(self.prototype, count, seed)
        largest, smallest = self.extremes()
        inside = [a for a in coverage_samples(self.prototype) if self._admits_arch(a)]
        return [largest, smallest, *inside, *(self.arch(e) for e in self.entries)]

    def draw(self, rng: random.Random, fixed: Mapping[str, Value] | None = None
             ) -> Architecture | None:
        """One random network of the space (None when a draw cannot be built), with the
        choices ``fixed`` names set as it says (None when that leaves the bounds)."""
        try:
            if self.bounded:
                values = dict(self.entries[rng.randrange(len(self.entries))].values)
                if not fixed:
                    return self.prototype.sample(chooser=FixedChooser(values))
            else:
                arch, values = self.prototype.sample_with_choices(
                    chooser=RandomChooser(rng.randrange(2**31)))
                if not fixed:
                    return arch
        except ShapeError:
            return None
        return self.with_choices(values, fixed)

    def with_choices(self, values: Mapping[str, Value], fixed: Mapping[str, Value]
                     ) -> Architecture | None:
        """The network of ``values`` with the choices ``fixed`` names (those it makes) set as
        it says; None when it cannot be built or leaves the bounds."""
        try:
            arch = self.prototype.sample(chooser=RecordedChooser(
                {**values, **{k: v for k, v in fixed.items() if k in values}}))
        except ShapeError:
            return None
        return arch if not self.bounded or self._admits_arch(arch) else None


def _fill(pool: Pool, bounds: SpaceBounds, wanted: int) -> list[Entry]:
    """``wanted`` networks of ``pool`` inside ``bounds`` (fewer when the space, or the
    pool's limit, holds no more), growing it as needed; ordered by key, so the same seed gives
    the same list."""
    while True:
        found = pool.inside(bounds)
        if len(found) >= wanted or pool.full:
            break
        before = len(pool.entries)
        pool.grow(DRAWS)
        if len(pool.entries) == before:  # the space holds no more distinct networks
            break
    return sorted(found, key=lambda e: e.key)[:wanted]
