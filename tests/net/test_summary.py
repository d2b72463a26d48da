"""Each layer kind names itself in one-line summaries; quiet kinds are left out."""

from __future__ import annotations

import pytest

from genesynth.blocks.modules import step
from genesynth.net.arch import LayerSpec
from genesynth.net.summary import layer_token, part_layers

L = LayerSpec.of
MAP = (16, 8, 8)


@pytest.mark.parametrize(("layer", "token"), [
    (L("pwconv", out=24), "pw24"),
    (L("conv", out=24, kernel=1, groups=4, stride=2), "gpw/4 24 s2"),
    (L("dwconv", kernel=3, stride=2), "dw3x3 s2"),
    (L("conv", out=16, kernel=5, groups=16), "dw5x5"),
    (L("conv", out=48, kernel=3, groups=4), "g3x3/4 48"),
    (L("conv", out=128, stride=2), "3x3 128 s2"),
    (L("maxpool"), "maxpool3 s2"),
    (L("avgpool", kernel=2, stride=1, padding=1), "avgpool2"),
    (L("se"), "se"), (L("shuffle"), "shuffle"), (L("gap"), "gap"),
    (L("bn"), ""), (L("relu6"), ""), (L("hswish"), ""), (L("identity"), ""),
    (L("dropout"), ""), (L("flatten"), ""),
])
def test_layer_tokens(layer: LayerSpec, token: str) -> None:
    assert layer_token(step(layer, MAP, "m01.b0.0")) == token


def test_vector_layers_and_a_part() -> None:
    linear = step(L("linear", out=10), (32,), "head.1")
    assert layer_token(linear) == "fc10"
    assert layer_token(step(L("softmax"), (10,), "head.2")) == ""
    shortcut = step(L("conv", out=16, kernel=1, bias=False), MAP, "m01.shortcut.0")
    body = step(L("pwconv", out=16), MAP, "m01.b0.0")
    assert part_layers((body, step(L("bn"), MAP, "m01.b0.1"), shortcut)) == "pw16"
    assert part_layers(()) == "identity"
