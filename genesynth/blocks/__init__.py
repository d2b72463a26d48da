"""One registry of layer kinds: schema, shape rule, analytic cost, torch module, summary name.

Importing this package registers the built-in vocabulary: the activations, one row each of
:data:`~genesynth.blocks.activations.TABLE`, and the other kinds of
:mod:`genesynth.blocks.layers`. The package sits above :mod:`genesynth.spec` (the layer and
module records) and below :mod:`genesynth.net.arch`, which checks an architecture with
:func:`trace` when it is read.
"""

from __future__ import annotations

from genesynth.blocks import layers as _layers  # noqa: F401  (registers the vocabulary)
from genesynth.blocks.activations import ACTIVATIONS, GATES, Activation
from genesynth.blocks.base import REGISTRY, LayerKind, LayerProblem, Param, Shape, register
from genesynth.blocks.modules import Part, Traced, trace, trace_parts

__all__ = [
    "ACTIVATIONS", "GATES", "REGISTRY", "Activation", "LayerKind", "LayerProblem", "Param",
    "Part", "Shape", "Traced", "register", "trace", "trace_parts",
]
