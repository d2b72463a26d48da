"""The search space of a prototype: its choices, how they are made, and what a sample costs.

The language (:mod:`genesynth.dsl`) reads prototype text into a checked model; this package
turns that model into a search space and samples it:

- :mod:`~genesynth.space.prototype`: :class:`Prototype`, ``load_prototype`` / ``parse_prototype``;
- :mod:`~genesynth.space.choices`: which choices exist, how they nest, how many assignments;
- :mod:`~genesynth.space.choosers`: who makes the choices (:class:`Chooser`: a seeded RNG, a
  replay, the first or last option; the engine wraps an Optuna trial in one);
- :mod:`~genesynth.space.instantiate`: one sample, every choice made and every shape settled;
- :mod:`~genesynth.space.bounds`: bounds of the cost over the space (:class:`CostRange`).

Nothing here imports torch or optuna.
"""

from __future__ import annotations

from genesynth.space.bounds import CostRange
from genesynth.space.choices import ChoiceInfo
from genesynth.space.choosers import (
    Chooser,
    FirstChooser,
    FixedChooser,
    LastChooser,
    RandomChooser,
)
from genesynth.space.prototype import Prototype, load_prototype, parse_prototype

__all__ = [
    "ChoiceInfo", "Chooser", "CostRange", "FirstChooser", "FixedChooser", "LastChooser",
    "Prototype", "RandomChooser", "load_prototype", "parse_prototype",
]
