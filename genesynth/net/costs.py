"""Analytic cost of an architecture: parameters and MACs, without running torch.

MACs count the multiply-accumulates of convolutions and linear layers for one image (bias
additions excluded), which is half of ``torch.utils.flop_counter.FlopCounterMode``'s total.
Parameters count every trainable parameter, batch-norm affine included.
"""

from __future__ import annotations

from dataclasses import dataclass

from genesynth.blocks import trace
from genesynth.blocks.base import LayerProblem, Shape
from genesynth.blocks.modules import run_layers, trace_module, trace_parts
from genesynth.net.arch import Architecture
from genesynth.spec import LayerSpec, ModuleSpec


@dataclass(frozen=True)
class Cost:
    params: int
    macs: int

    @property
    def mparams(self) -> float:
        """Parameters in millions."""
        return self.params / 1e6

    @property
    def mmacs(self) -> float:
        """MACs in millions."""
        return self.macs / 1e6


@dataclass(frozen=True)
class PartCost:
    """The cost of one part of the network: ``stem``, a module (``m01`` ...) or ``head``."""

    part: str
    label: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    params: int
    macs: int


def cost(arch: Architecture) -> Cost:
    """Parameters and MACs of ``arch`` (raises ArchitectureError for an invalid one)."""
    traced = trace(arch)
    return Cost(sum(t.params for t in traced), sum(t.macs for t in traced))


def breakdown(arch: Architecture) -> list[PartCost]:
    """Cost per part, in network order (a skipped module shows with zero cost)."""
    return [
        PartCost(p.name, p.label, p.in_shape, p.out_shape,
                 sum(t.params for t in p.layers), sum(t.macs for t in p.layers))
        for p in trace_parts(arch)
    ]


#: A part as :class:`CostCache` keys it: the stem or head layers, or a module, and its input.
PartKey = tuple[tuple[LayerSpec, ...] | ModuleSpec, Shape]


class CostCache:
    """:func:`cost` as the sum of the parts' costs, each distinct part (its spec and input
    shape) traced once: a sampler costing thousands of networks of one prototype traces each
    module choice once and adds. Equal to :func:`cost` for every valid architecture; an
    invalid one is traced whole, which raises the same ArchitectureError. Forgets everything
    past ``limit`` parts."""

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self._parts: dict[PartKey, tuple[int, int, Shape]] = {}

    def __call__(self, arch: Architecture) -> Cost:
        shape: Shape = arch.input_shape
        params = macs = 0
        try:
            parts: list[tuple[LayerSpec, ...] | ModuleSpec] = [arch.stem, *arch.modules,
                                                                arch.head]
            for part in parts:
                part_params, part_macs, shape = self._part(part, shape)
                params, macs = params + part_params, macs + part_macs
        except LayerProblem:
            return cost(arch)  # raises, naming the part
        if shape != (arch.classes,):
            return cost(arch)
        return Cost(params, macs)

    def _part(self, part: tuple[LayerSpec, ...] | ModuleSpec, shape: Shape
              ) -> tuple[int, int, Shape]:
        key = (part, shape)
        found = self._parts.get(key)
        if found is None:
            if isinstance(part, ModuleSpec):
                layers, out = trace_module(part, shape, "part")
            else:
                layers = run_layers(part, shape, "part")
                out = layers[-1].out_shape if layers else shape
            if len(self._parts) >= self.limit:
                self._parts.clear()
            found = self._parts[key] = (sum(t.params for t in layers),
                                        sum(t.macs for t in layers), out)
        return found
