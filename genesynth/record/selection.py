"""How the family is chosen from the feasible candidates: one rule for the engine's family
(:mod:`genesynth.synth.family`) and the dashboard's "family forming" panel
(:meth:`genesynth.record.snapshot.RunState.forming`).

The rule, for a family of ``K`` members:

1. **The front.** Only the feasible candidates that no other candidate beats or equals on
   every measure (top-1, params and MACs) take part; of equal ones, the first trial.
2. **A, the most accurate.** Member A is the most accurate candidate of the front (ties: the
   fewer MACs, the fewer params, the earlier trial).
3. **B ... down to the smallest.** The MACs range from ``1 - min_gap`` (80 %) of A's MACs down
   to the smallest candidate of the front is cut into ``K - 1`` bands of equal width on a log
   scale, largest first. Each band gives its best utility that has at most ``1 - min_gap`` of
   the MACs of the member above (else the band's next best); a band where none fits gives no
   member. So the family spans the whole range the search found, from the most accurate to
   the smallest, and consecutive members differ by at least 20 % in MACs.
4. **The places left.** Where a band gave no member, any other candidate of the front below
   A that is 20 % apart in MACs from the members on both sides joins (best utility first),
   until the family has ``K`` members.

:func:`bands` also tells the rest of each member's band (its spares, best first), which
replace a member that retraining shows dominated: never the member itself, never another
member.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol, TypeVar

__all__ = ["MIN_GAP", "Option", "bands", "beats", "fill", "front", "select", "spares"]

MIN_GAP = 0.2  # each member has at most 80 % of the MACs of the one above


class Measured(Protocol):
    """What dominance compares: top-1 accuracy, params and MACs."""

    @property
    def accuracy(self) -> float: ...
    @property
    def params(self) -> int: ...
    @property
    def macs(self) -> int: ...


class Option(Measured, Protocol):
    """A feasible candidate as the selection sees it: its trial and its utility too."""

    @property
    def trial(self) -> int: ...
    @property
    def utility(self) -> float: ...


T = TypeVar("T", bound=Option)


def beats(a: Measured, b: Measured) -> bool:
    """``a`` beats or equals ``b`` on every measure: top-1, params and MACs."""
    return a.accuracy >= b.accuracy and a.params <= b.params and a.macs <= b.macs


def front(found: Sequence[T]) -> list[T]:
    """The candidates no other one beats or equals on every measure (of equal ones, the
    first trial)."""

    def loses(c: T, o: T) -> bool:
        return o is not c and beats(o, c) and (not beats(c, o) or o.trial < c.trial)

    return [c for c in found if not any(loses(c, o) for o in found)]


def _most_accurate(kept: Sequence[T]) -> T:
    return min(kept, key=lambda c: (-c.accuracy, c.macs, c.params, c.trial))


def bands(found: Sequence[T], size: int, min_gap: float = MIN_GAP) -> list[list[T]]:
    """The front in ``size`` bands, largest first: band 0 holds the most accurate candidate
    and the others above ``1 - min_gap`` of its MACs (most accurate first); bands 1 ...
    ``size - 1`` cut the range below it into equal log-MACs widths (best utility first)."""
    kept = front(found)
    if not kept or size < 1:
        return []
    top = _most_accurate(kept)
    ceiling = (1 - min_gap) * top.macs
    upper = [c for c in kept if c.macs > ceiling or size == 1]
    lower = [c for c in kept if c.macs <= ceiling and size > 1]
    split: list[list[T]] = [sorted(upper, key=lambda c: (-c.accuracy, c.macs, c.trial))]
    split += [[] for _ in range(size - 1)]
    if lower:
        high, low = math.log(ceiling), math.log(min(c.macs for c in lower))
        width = (high - low) / (size - 1) or 1.0
        for c in lower:
            split[1 + min(size - 2, int((high - math.log(c.macs)) / width))].append(c)
    return [split[0]] + [sorted(band, key=lambda c: (-c.utility, c.trial)) for band in split[1:]]


def select(found: Sequence[T], size: int = 4, min_gap: float = MIN_GAP) -> list[T]:
    """The family: A the most accurate of the front, then the best utility of each band
    below it, each at most ``1 - min_gap`` of the MACs of the member above; where a band
    gives none, the places left are filled (:func:`fill`)."""
    chosen: list[T] = []
    split = bands(found, size, min_gap)
    for band in split:
        for c in band:
            if not chosen or c.macs <= (1 - min_gap) * chosen[-1].macs:
                chosen.append(c)
                break
    return fill(chosen, [c for band in split[1:] for c in band], size, min_gap)


def fill(chosen: list[T], rest: Sequence[T], size: int, min_gap: float = MIN_GAP) -> list[T]:
    """``chosen`` (largest first) with the candidates of ``rest`` that fit, best utility
    first, until it has ``size``: a candidate fits where it has at most ``1 - min_gap`` of
    the MACs of the member above it and the member below it at most ``1 - min_gap`` of its
    own. (Bands of equal log width can leave one empty while a candidate just across its
    edge fits between two members: A 827K, B 551K, D 332K and a 415K candidate in D's band.)"""
    keep = 1 - min_gap
    out = list(chosen)
    for c in sorted(rest, key=lambda c: (-c.utility, c.trial)):
        if len(out) >= size:
            break
        at = sum(m.macs > c.macs for m in out)  # members above it (A is always one)
        below_fits = at == len(out) or out[at].macs <= keep * c.macs
        if at and c.macs <= keep * out[at - 1].macs and below_fits and c not in out:
            out.insert(at, c)
    return out


def spares(found: Sequence[T], chosen: Sequence[T], size: int, min_gap: float = MIN_GAP
           ) -> list[list[T]]:
    """For each chosen member, the other candidates of its band in the band's order, less
    every chosen member (a member is never its own replacement)."""
    taken = {c.trial for c in chosen}
    by_band = bands(found, size, min_gap)
    out = []
    for c in chosen:
        band = next((b for b in by_band if any(o.trial == c.trial for o in b)), [])
        out.append([o for o in band if o.trial not in taken])
    return out
