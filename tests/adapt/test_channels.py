"""Channel groups and cuts: a cut network computes what the full one does with the cut
channels silenced, its cost is PyTorch's count, and groups that cannot be cut say why."""

from __future__ import annotations

import pytest
import torch

from genesynth.adapt.channels import (
    channel_units,
    complete,
    cut_state,
    keep_channels,
    narrowed,
)
from genesynth.net.arch import Architecture, LayerSpec, ModuleSpec
from genesynth.net.builder import build
from genesynth.net.costs import cost
from tests.demo_run import tiny_architecture

L = LayerSpec.of


def grouped_projecting() -> Architecture:
    """A grouped 3x3 (groups 4) between pointwise layers, a stride-2 module with a projecting
    shortcut, and a seq module: every kind of tie the walk makes."""
    atto = (L("pwconv", out=16, bias=False), L("bn"), L("relu"),
            L("conv", kernel=3, groups=4, bias=False), L("bn"), L("relu"),
            L("pwconv", out=24, bias=False), L("bn"))
    down = (L("pwconv", out=16, bias=False), L("bn"), L("relu"),
            L("conv", kernel=3, stride=2, groups=1, out=16, bias=False), L("bn"), L("relu"),
            L("pwconv", out=32, bias=False), L("bn"))
    return Architecture(
        "g", (3, 12, 12), 5,
        (L("conv", out=24, kernel=3, bias=False), L("bn"), L("relu")),
        (ModuleSpec("atto", "residual", (atto,), "identity", (L("relu"),)),
         ModuleSpec("down", "residual", (down,), "project", (L("relu"),)),
         ModuleSpec("plain", "seq", ((L("pwconv", out=40), L("relu")),), post=(L("bn"),))),
        (L("gap"), L("linear", out=5)),
    )


def silenced(arch: Architecture, unit, state, keep):
    """The full network's weights with the channels a cut drops zeroed where they are made
    (batch-norm scale and shift, a kernel's bias), so they carry 0 everywhere."""
    out = dict(state)
    drop = torch.tensor([i for i in range(unit.width) if i not in set(keep.tolist())])
    for s in unit.slices:
        if s.dim == 0 and not s.key.endswith(("running_mean", "running_var")):
            tensor = out[s.key].clone()
            tensor[drop] = 0
            out[s.key] = tensor
    return out


@pytest.mark.parametrize("make", [lambda: tiny_architecture(8, 2), grouped_projecting])
def test_a_cut_network_equals_the_full_one_with_those_channels_silenced(make) -> None:
    arch = complete(make())
    torch.manual_seed(0)
    state = build(arch).state_dict()
    x = torch.randn(3, *arch.input_shape, generator=torch.Generator().manual_seed(1))
    cut_any = False
    for unit in channel_units(arch):
        if not unit.cuttable:
            continue
        width = unit.width - unit.quantum
        keep = keep_channels(unit, state, width)
        full = build(arch).eval()
        full.load_state_dict(silenced(arch, unit, state, keep))
        small_arch = narrowed(arch, unit, width)
        small = build(small_arch).eval()
        small.load_state_dict(cut_state(unit, state, keep), strict=True)
        with torch.no_grad():
            torch.testing.assert_close(small(x), full(x), atol=1e-5, rtol=0)
        built = sum(p.numel() for p in small.parameters())
        assert cost(small_arch).params == built
        assert cost(small_arch).macs < cost(arch).macs
        cut_any = True
    assert cut_any


def test_the_groups_of_a_network_and_what_ties_them() -> None:
    units = channel_units(complete(grouped_projecting()))
    table = [(u.name, u.width, u.quantum, u.frozen) for u in units]
    assert table == [
        ("input", 3, 1, "the input image"),
        ("stem.0+m01", 24, 1, ""),  # the stream: stem and m01's output, tied by identity
        ("m01.b0.0", 16, 4, ""),  # read by the grouped conv: cut 4 at a time, 1 per group
        ("m01.b0.3", 16, 4, ""),
        ("m02.b0.0", 16, 1, ""),
        ("m02.b0.3", 16, 1, ""),
        ("m02.b0.6", 32, 1, ""),  # m02's output and its projection
        ("m03.b0.0", 40, 1, ""),
        ("head.1", 5, 1, "the class scores"),
    ]


def test_a_grouped_cut_keeps_the_same_number_in_every_group() -> None:
    arch = complete(grouped_projecting())
    unit = next(u for u in channel_units(arch) if u.name == "m01.b0.0")
    state = build(arch).state_dict()
    keep = keep_channels(unit, state, 8)
    assert [int(k) // 4 for k in keep] == [0, 0, 1, 1, 2, 2, 3, 3]
    assert unit.cuttable == 12
    with pytest.raises(Exception, match="cannot have 6 channels"):
        narrowed(arch, unit, 6)


def test_importance_is_the_l1_norm_of_the_filters() -> None:
    arch = complete(tiny_architecture(8, 1))
    unit = next(u for u in channel_units(arch) if u.name == "m01.b0.0")
    state = build(arch).state_dict()
    weight = state["body.m01.body.0.weight"]
    weight.zero_()
    weight[[3, 9, 12]] = 1.0  # the only non-zero filters of the squeeze
    state["body.m01.body.3.weight"].fill_(1.0)  # the depthwise filters: all equal
    assert keep_channels(unit, state, 3).tolist() == [3, 9, 12]


def test_widths_can_be_kept_multiples_of_eight() -> None:
    units = {u.name: u for u in channel_units(complete(grouped_projecting()), multiple=8)}
    assert (units["m01.b0.0"].quantum, units["m01.b0.0"].cuttable) == (8, 8)  # lcm(4, 8)
    assert units["stem.0+m01"].cuttable == 16  # 24 -> 16 or 8
    assert units["input"].frozen == "the input image"
