"""One registry of layer kinds: schema, shape rule, analytic cost and torch module.

Importing this package registers the built-in vocabulary (``genesynth.blocks.layers``).
"""

from __future__ import annotations

from genesynth.blocks import layers as _layers  # noqa: F401  (registers the vocabulary)
from genesynth.blocks.base import REGISTRY, LayerKind, LayerProblem, Param, Shape, register
from genesynth.blocks.modules import Part, Traced, trace, trace_parts

__all__ = [
    "REGISTRY", "LayerKind", "LayerProblem", "Param", "Part", "Shape", "Traced", "register",
    "trace", "trace_parts",
]
