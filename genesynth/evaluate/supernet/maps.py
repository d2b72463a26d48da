"""Choices that change a map's spatial size, and the supernet's first phase at full maps.

A stride (or any choice that changes the spatial size of the maps after it: a pooling layer,
an optional strided module) makes every later layer see another neighbourhood of the image:
a kxk kernel trained at 8x8 sees a twice as wide region at 4x4. Weights trained from the
start on every setting of such choices learn slowly (docs/supernet.md, *Strides*), so the
supernet trains them as Once-for-All trains its elastic dimensions (progressive shrinking,
Cai et al. 2020): for the first ``full_maps`` share of its steps (``SupernetConfig``) every
network of a step is drawn at full map sizes -- each size-changing choice at its option that
keeps the maps largest (stride 1) -- and only then at every setting, from those weights.

:func:`size_choices` finds those choices in any prototype, by varying each choice of a
reference network and comparing the spatial size of every layer's input;
:class:`FullMaps` projects a network's choices onto full maps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from genesynth.errors import ShapeError
from genesynth.evaluate.supernet.plan import RecordedChooser, named_layers
from genesynth.net.arch import Architecture, Value
from genesynth.space.choosers import FirstChooser

if TYPE_CHECKING:
    from genesynth.space import Prototype


def map_sizes(arch: Architecture) -> dict[str, tuple[int, ...]]:
    """The spatial size of the input of every layer with weights, by its supernet slot."""
    return {layer.key: tuple(layer.in_shape[1:]) for layer in named_layers(arch)}


def _area(sizes: Mapping[str, tuple[int, ...]], keys: set[str]) -> int:
    total = 0
    for key in keys:
        area = 1
        for dim in sizes[key]:
            area *= dim
        total += area
    return total


@dataclass(frozen=True)
class FullMaps:
    """The option of every size-changing choice that keeps the maps largest (e.g.
    ``{"m05.stride": 1, "m09.stride": 1}``); empty when no choice changes a map's size."""

    options: Mapping[str, Value]

    @classmethod
    def of(cls, proto: Prototype, references: Sequence[Mapping[str, Value]] = ()) -> FullMaps:
        """The size-changing choices of ``proto``, found by varying each choice of each
        reference network (by default the one of every first option) one at a time: a choice
        changes a map's size when some layer present in both networks gets an input of
        another spatial size. Its full-map option is the one whose layers' maps have the
        largest total area."""
        found: dict[str, Value] = {}
        for values in references or [_first(proto)]:
            for name, option in _size_options(proto, values).items():
                found.setdefault(name, option)
        return cls(found)

    def __bool__(self) -> bool:
        return bool(self.options)

    def project(self, values: Mapping[str, Value]) -> dict[str, Value]:
        """``values`` with every size-changing choice at its full-map option."""
        return {**values, **{k: v for k, v in self.options.items() if k in values}}


def _first(proto: Prototype) -> dict[str, Value]:
    return proto.sample_with_choices(chooser=FirstChooser())[1]


def _size_options(proto: Prototype, values: Mapping[str, Value]) -> dict[str, Value]:
    """For each choice of ``values`` whose options change some layer's map size: the option
    with the largest maps."""
    found: dict[str, Value] = {}
    for info in proto.choices():
        if info.name not in values:
            continue  # a choice of another branch of the space
        options = info.options or tuple(range(info.low, info.high + 1, info.step))
        sizes: list[tuple[Value, dict[str, tuple[int, ...]]]] = []
        for option in options:
            try:
                arch = proto.sample(chooser=RecordedChooser({**values, info.name: option}))
            except ShapeError:
                continue
            sizes.append((option, map_sizes(arch)))
        common = set.intersection(*(set(s) for _, s in sizes)) if sizes else set()
        if len({tuple(s[k] for k in sorted(common)) for _, s in sizes}) > 1:
            found[info.name] = max(sizes, key=lambda pair: _area(pair[1], common))[0]
    return found
