"""A projecting shortcut strides as its module's body does, whatever kinds stride there."""

from __future__ import annotations

import pytest
import torch

from genesynth.net.arch import Architecture, LayerSpec, ModuleSpec
from genesynth.net.builder import build
from genesynth.net.costs import cost

L = LayerSpec.of


@pytest.mark.parametrize("body", [
    (L("dwconv", stride=2),),
    (L("pwconv", out=8, stride=2),),
    (L("maxpool"),),  # stride 2 by default
    (L("avgpool", kernel=2, padding=0), L("conv", out=8, stride=2)),
    (L("conv", out=8), L("bn"), L("relu")),  # stride 1
], ids=["dwconv", "pwconv", "maxpool-default", "avgpool-then-conv", "no-stride"])
def test_a_hand_written_body_gets_a_matching_projection(body: tuple[LayerSpec, ...]) -> None:
    arch = Architecture("x", (4, 8, 8), 3, (),
                        (ModuleSpec("m", "residual", (body,), shortcut="project"),),
                        (L("gap"), L("linear", out=3)))
    assert Architecture.from_json(arch.to_json()) == arch
    model = build(arch)
    assert cost(arch).params == sum(p.numel() for p in model.parameters())
    assert model(torch.randn(2, 4, 8, 8)).shape == (2, 3)
