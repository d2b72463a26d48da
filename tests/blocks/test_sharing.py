"""Each layer kind takes its slice of larger shared weights, and states its parameter shapes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.nn import functional as F

from genesynth.blocks import REGISTRY
from genesynth.blocks.base import LayerProblem
from genesynth.blocks.modules import trace
from genesynth.space import load_prototype

ROOT = Path(__file__).resolve().parents[2]
PROTOTYPES = sorted((ROOT / "prototypes").glob("*.gs"))


def conv(**given: object) -> tuple[dict[str, object], tuple[int, int, int]]:
    shape = given.pop("shape")
    return REGISTRY["conv"].complete(given, shape), shape  # type: ignore[arg-type]


@pytest.mark.parametrize("path", PROTOTYPES, ids=lambda p: p.stem)
def test_param_sizes_are_the_built_modules_shapes(path: Path) -> None:
    proto = load_prototype(path)
    for seed in range(3):
        for traced in trace(proto.sample(seed=seed)):
            kind = REGISTRY[traced.layer.kind]
            params = kind.complete(traced.layer.as_dict(), traced.in_shape)
            built = kind.build(params, traced.in_shape)
            expected = {name: tuple(t.shape) for name, t in built.named_parameters()}
            assert kind.param_sizes(params, traced.in_shape) == expected, traced.path


def test_a_smaller_kernel_is_the_centre_of_the_larger() -> None:
    torch.manual_seed(0)
    shared = {"weight": torch.randn(6, 4, 5, 5)}
    p, shape = conv(out=6, kernel=3, bias=False, shape=(4, 9, 9))
    taken = REGISTRY["conv"].take(p, shape, shared)["weight"]
    ring = shared["weight"].clone()
    ring[:, :, [0, 4], :] = 0
    ring[:, :, :, [0, 4]] = 0
    x = torch.randn(2, 4, 9, 9)
    torch.testing.assert_close(F.conv2d(x, taken, padding=1), F.conv2d(x, ring, padding=2))


def test_a_grouped_conv_is_the_block_diagonal_of_the_dense_kernel() -> None:
    torch.manual_seed(0)
    shared = {"weight": torch.randn(8, 8, 3, 3)}
    p, shape = conv(out=8, groups=4, bias=False, shape=(8, 5, 5))
    taken = REGISTRY["conv"].take(p, shape, shared)["weight"]
    mask = torch.zeros(8, 8, 1, 1)
    for g in range(4):
        mask[2 * g : 2 * g + 2, 2 * g : 2 * g + 2] = 1
    x = torch.randn(2, 8, 5, 5)
    grouped = F.conv2d(x, taken, padding=1, groups=4)
    torch.testing.assert_close(grouped, F.conv2d(x, shared["weight"] * mask, padding=1))


def test_widths_take_the_first_channels() -> None:
    shared = {"weight": torch.randn(16, 12, 3, 3), "bias": torch.randn(16)}
    p, shape = conv(out=8, kernel=3, shape=(4, 5, 5))
    taken = REGISTRY["conv"].take(p, shape, shared)
    assert torch.equal(taken["weight"], shared["weight"][:8, :4])
    assert torch.equal(taken["bias"], shared["bias"][:8])
    linear = REGISTRY["linear"].take({"out": 3, "bias": True}, (5,),
                                     {"weight": torch.ones(10, 7), "bias": torch.ones(10)})
    assert linear["weight"].shape == (3, 5) and linear["bias"].shape == (3,)


def test_an_all_depthwise_slot_keeps_a_compact_kernel() -> None:
    dw = REGISTRY["dwconv"]
    settings = [(dw.complete({"kernel": k}, (c, 8, 8)), (c, 8, 8)) for c, k in ((16, 3), (32, 5))]
    conv_kind = REGISTRY["conv"]
    assert conv_kind.shared_sizes(settings) == {"weight": (32, 1, 5, 5), "bias": (32,)}
    mixed = [*settings, conv(out=8, groups=1, shape=(8, 8, 8))]
    assert conv_kind.shared_sizes(mixed)["weight"] == (32, 32, 5, 5)
    shared = {"weight": torch.randn(32, 32, 5, 5)}
    p, shape = settings[0]
    taken = conv_kind.take({**p, "bias": False}, shape, shared)["weight"]
    expected = torch.stack([shared["weight"][i, i, 1:4, 1:4] for i in range(16)])[:, None]
    torch.testing.assert_close(taken, expected)


def test_a_slice_larger_than_the_shared_tensor_is_refused() -> None:
    p, shape = conv(out=8, kernel=3, bias=False, shape=(4, 5, 5))
    with pytest.raises(LayerProblem, match="'weight' needs 8x4x3x3 but the shared tensor is "
                                           "6x4x3x3"):
        REGISTRY["conv"].take(p, shape, {"weight": torch.zeros(6, 4, 3, 3)})
    with pytest.raises(LayerProblem, match="needs kernel 5 but the shared kernel is 3"):
        p5, _ = conv(out=4, kernel=5, bias=False, shape=(4, 5, 5))
        REGISTRY["conv"].take(p5, shape, {"weight": torch.zeros(6, 4, 3, 3)})
