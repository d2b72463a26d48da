"""Bounds of the cost over a search space: by enumeration where it is small or decomposes per
part, otherwise from extreme assignments and random samples (then ``exact`` is False).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from genesynth.dsl.resolve import Model
from genesynth.errors import ShapeError
from genesynth.net.arch import Value
from genesynth.net.costs import PartCost, breakdown
from genesynth.space.choices import Alternatives, Domain, Node, Product, count, space_tree
from genesynth.space.choosers import Chooser, FirstChooser, LastChooser, RandomChooser
from genesynth.space.instantiate import Instantiator

ENUMERATE_LIMIT = 512
RANDOM_SAMPLES = 200
RANDOM_WORK = 4000
"""The most (samples x parts) the random estimate walks: fewer samples for a deep network."""
DECOMPOSE_WORK = 20_000
"""The most (samples x parts) a per-part enumeration may walk: each sample walks the whole
network, so the work grows with the square of its depth (MobileNetV2's space needs 3,268)."""
DESCENT_WORK = 400
"""The most networks :func:`descend_macs` builds (attonet16: about 250 a sweep)."""


@dataclass(frozen=True)
class CostRange:
    """Bounds of parameters and MACs over a space; ``exact`` when found by enumeration."""

    min_params: int
    max_params: int
    min_macs: int
    max_macs: int
    exact: bool


class Odometer:
    """A chooser that walks every assignment of the choices ``mine`` accepts, in turn.

    Other choices take their value from ``base`` (or the first option). Call :meth:`advance`
    after each sample; it returns False when every assignment has been seen.
    """

    def __init__(self, mine: Callable[[str], bool], base: Mapping[str, Value]) -> None:
        self.mine = mine
        self.base = base
        self.forced: list[int] = []
        self.taken: list[tuple[int, int]] = []

    def _index(self, size: int) -> int:
        pos = len(self.taken)
        index = self.forced[pos] if pos < len(self.forced) else 0
        self.taken.append((index, size))
        return index

    def categorical(self, name: str, options: Sequence[Value]) -> Value:
        if not self.mine(name):
            return self.base.get(name, options[0])
        return options[self._index(len(options))]

    def integer(self, name: str, low: int, high: int, step: int) -> int:
        if not self.mine(name):
            return int(self.base.get(name, low))
        return low + step * self._index((high - low) // step + 1)

    def advance(self) -> bool:
        for pos in range(len(self.taken) - 1, -1, -1):
            index, size = self.taken[pos]
            if index + 1 < size:
                self.forced = [i for i, _ in self.taken[:pos]] + [index + 1]
                self.taken = []
                return True
        return False


def _parts(model: Model, chooser: Chooser) -> tuple[list[PartCost], dict[str, Value]] | None:
    instantiator = Instantiator(model, chooser)
    try:
        arch = instantiator.architecture()
    except ShapeError:
        return None
    return breakdown(arch), dict(instantiator.values)


def _enumerate(model: Model, mine: Callable[[str], bool], base: Mapping[str, Value]
               ) -> list[list[PartCost]]:
    odometer = Odometer(mine, base)
    found: list[list[PartCost]] = []
    while True:
        got = _parts(model, odometer)
        if got is not None:
            found.append(got[0])
        if not odometer.advance():
            return found


def _has_ties(node: Node) -> bool:
    if isinstance(node, Domain):
        return node.tie is not None
    if isinstance(node, Alternatives) and node.tie is not None:
        return True
    children = node.parts if isinstance(node, Product) else node.options
    return any(_has_ties(child) for child in children)


def _part_size(node: Product, index: int) -> int:
    return count(node.parts[index])


def cost_range(model: Model, space_size: int) -> CostRange:
    """Bounds of parameters and MACs over the valid samples of a space of ``space_size``."""
    if space_size <= ENUMERATE_LIMIT:
        found = _enumerate(model, lambda name: True, {})
        if found:
            totals = [_total(parts) for parts in found]
            return _bounds(totals, exact=True)
    decomposed = _per_part(model)
    if decomposed is not None:
        return decomposed
    totals = []
    choosers: list[Chooser] = [FirstChooser(), LastChooser()]
    samples = max(16, min(RANDOM_SAMPLES, RANDOM_WORK // (len(model.slots) + 2)))
    choosers += [RandomChooser(seed) for seed in range(samples)]
    for chooser in choosers:
        got = _parts(model, chooser)
        if got is not None:
            totals.append(_total(got[0]))
    return _bounds(totals or [(0, 0)], exact=False)


def descend_macs(model: Model, values: Mapping[str, Value], below: int | None = None,
                 work: int = DESCENT_WORK) -> tuple[int, dict[str, Value]] | None:
    """The fewest MACs coordinate descent finds from the network ``values`` make, and the
    choices of that network: each choice in turn takes its option with the fewest MACs, the
    others kept (a choice that appears only then takes its first option), sweeping until no
    choice improves, a network with at most ``below`` MACs is found, or ``work`` networks were
    built. Every figure is a network of the space, so the result bounds its smallest from
    above (a large space's random estimate misses small networks by far: attonet16 at 1x8x8,
    856,864 against 157,064 found so). None when ``values`` make no network."""
    start = _parts(model, Odometer(lambda name: False, values))
    if start is None:
        return None
    best, chosen = _total(start[0])[1], start[1]
    built, improved = 1, True
    while improved and built < work and (below is None or best > below):
        improved = False
        for name in list(chosen):
            odometer, step = Odometer(name.__eq__, chosen), None
            while built < work:
                got, built = _parts(model, odometer), built + 1
                if got is not None and _total(got[0])[1] < best:
                    best, step = _total(got[0])[1], got[1]
                if not odometer.advance():
                    break
            if step is not None:
                chosen, improved = step, True
                if below is not None and best <= below:
                    break
    return best, chosen


def _per_part(model: Model) -> CostRange | None:
    """Exact bounds when each part's output shape does not depend on its own choices."""
    tree = space_tree(model)
    reference = _parts(model, FirstChooser())
    if _has_ties(tree) or reference is None:
        return None
    ref_parts, base = reference
    sizes = [_part_size(tree, index) for index in range(len(ref_parts))]
    if sum(sizes) * len(ref_parts) > DECOMPOSE_WORK:
        return None  # each enumerated sample walks the whole network: too slow for a deep one
    lows, highs = [0, 0], [0, 0]
    for index, part in enumerate(ref_parts):
        if sizes[index] > ENUMERATE_LIMIT:
            return None
        scope = part.part

        def mine(name: str, scope: str = scope) -> bool:
            return name == scope or name.startswith(scope + ".")

        found = [parts[index] for parts in _enumerate(model, mine, base)]
        if not found or any(p.out_shape != part.out_shape for p in found):
            return None
        lows = [lows[0] + min(p.params for p in found), lows[1] + min(p.macs for p in found)]
        highs = [highs[0] + max(p.params for p in found), highs[1] + max(p.macs for p in found)]
    return CostRange(lows[0], highs[0], lows[1], highs[1], exact=True)


def _total(parts: list[PartCost]) -> tuple[int, int]:
    return sum(p.params for p in parts), sum(p.macs for p in parts)


def _bounds(totals: list[tuple[int, int]], exact: bool) -> CostRange:
    params = [t[0] for t in totals]
    macs = [t[1] for t in totals]
    return CostRange(min(params), max(params), min(macs), max(macs), exact)
