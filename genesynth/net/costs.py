"""Analytic cost of an architecture: parameters and MACs, without running torch.

MACs count the multiply-accumulates of convolutions and linear layers for one image (bias
additions excluded), which is half of ``torch.utils.flop_counter.FlopCounterMode``'s total.
Parameters count every trainable parameter, batch-norm affine included.
"""

from __future__ import annotations

from dataclasses import dataclass

from genesynth.blocks import trace
from genesynth.blocks.modules import trace_parts
from genesynth.net.arch import Architecture


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
