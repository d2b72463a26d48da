"""A prototype as a search space: load, list and count choices, sample, bound the cost.

``load_prototype`` / ``parse_prototype`` read prototype text (no torch involved);
:meth:`Prototype.sample` turns it into an :class:`~genesynth.net.arch.Architecture` with a
:class:`Chooser` (an Optuna trial wrapped by the engine, a seeded RNG, or a replay).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from genesynth.dsl.parser import parse
from genesynth.dsl.resolve import Model, resolve, retarget
from genesynth.errors import ShapeError
from genesynth.limits import read_text
from genesynth.net.arch import Architecture, Value
from genesynth.space.bounds import CostRange, cost_range, descend_macs
from genesynth.space.choices import ChoiceInfo, count, list_choices, space_tree
from genesynth.space.choosers import Chooser, FirstChooser, RandomChooser
from genesynth.space.instantiate import Instantiator

LOAD_SEEDS = 8
"""Random samples tried at load time before a prototype none of which fits is refused."""


@dataclass(frozen=True)
class Prototype:
    """A checked prototype: the search space of one network."""

    name: str
    input_shape: tuple[int, int, int]
    classes: int
    path: str
    text: str
    model: Model = field(repr=False, compare=False)

    # -- the space --------------------------------------------------------------------------

    @cached_property
    def _choices(self) -> list[ChoiceInfo]:
        return list_choices(space_tree(self.model), self.text)

    def choices(self) -> list[ChoiceInfo]:
        """Every choice once (tied choices under their tie name), in network order."""
        return list(self._choices)

    @cached_property
    def space_size(self) -> int:
        """Distinct assignments of the choices that matter."""
        return count(space_tree(self.model))

    @property
    def is_fixed(self) -> bool:
        return self.space_size == 1

    # -- sampling ---------------------------------------------------------------------------

    def sample(self, seed: int | None = None, chooser: Chooser | None = None) -> Architecture:
        """One architecture; raises ShapeError when the choices do not fit the shapes."""
        return self.sample_with_choices(seed, chooser)[0]

    def sample_with_choices(
        self, seed: int | None = None, chooser: Chooser | None = None
    ) -> tuple[Architecture, dict[str, Value]]:
        """One architecture and the choices made for it (replay with FixedChooser)."""
        instantiator = Instantiator(self.model, chooser or RandomChooser(seed))
        arch = instantiator.architecture()
        return arch, dict(instantiator.values)

    def with_overrides(
        self, input_shape: tuple[int, int, int] | None = None, classes: int | None = None
    ) -> Prototype:
        """The same prototype at another input shape or class count; itself when neither
        changes. The text is not parsed or resolved again; its samples are checked to fit the
        new shapes (ShapeError otherwise)."""
        if (input_shape in (None, self.input_shape)) and classes in (None, self.classes):
            return self
        return _checked(retarget(self.model, input_shape, classes), self.path, self.text)

    def cost_range(self) -> CostRange:
        """Bounds of parameters and MACs over the valid samples of this space (found once: a
        large space's estimate builds a few hundred networks)."""
        return self._cost_range

    @cached_property
    def _cost_range(self) -> CostRange:
        return cost_range(self.model, self.space_size)

    def fewer_macs(self, values: Mapping[str, Value], below: int | None = None
                   ) -> tuple[int, dict[str, Value]] | None:
        """The fewest MACs found by changing one choice at a time from the network ``values``
        make, and that network's choices (:func:`~genesynth.space.bounds.descend_macs`); it
        stops once a network has at most ``below``. None when ``values`` make no network."""
        return descend_macs(self.model, values, below)


def parse_prototype(
    text: str,
    path: str = "<string>",
    input_shape: tuple[int, int, int] | None = None,
    classes: int | None = None,
) -> Prototype:
    """Parse and check prototype text; raises PrototypeSyntaxError, PrototypeError, ShapeError."""
    return _checked(resolve(parse(text, path), input_shape, classes), path, text)


def load_prototype(
    path: str | Path,
    input_shape: tuple[int, int, int] | None = None,
    classes: int | None = None,
) -> Prototype:
    """Read a ``.gs`` file; see :func:`parse_prototype`."""
    text = read_text(path, "prototype")
    return parse_prototype(text, str(path), input_shape, classes)


def _checked(model: Model, path: str, text: str) -> Prototype:
    proto = Prototype(model.network.name, model.input_shape, model.classes, path, text, model)
    proto.choices()  # checks that choice names are unique
    _check_samples(proto)
    return proto


def _check_samples(proto: Prototype) -> None:
    """A prototype none of whose first samples fits the shapes is an error (the first one)."""
    first: ShapeError | None = None
    choosers: list[Chooser] = [FirstChooser()]
    if not proto.is_fixed:
        choosers += [RandomChooser(seed) for seed in range(LOAD_SEEDS)]
    for chooser in choosers:
        try:
            proto.sample(chooser=chooser)
            return
        except ShapeError as error:
            first = first or error
    if first is not None:
        raise first
