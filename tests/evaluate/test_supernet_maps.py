"""Choices that change a map's size: found in any prototype, and trained at full maps first."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import torch

from genesynth.data import load_data
from genesynth.errors import GenesynthError
from genesynth.evaluate.supernet import SupernetConfig
from genesynth.evaluate.supernet.evaluator import SupernetEvaluator
from genesynth.evaluate.supernet.maps import FullMaps, map_sizes
from genesynth.evaluate.supernet.plan import plan
from genesynth.evaluate.supernet.space import BoundedSpace, SpaceBounds
from genesynth.evaluate.supernet.train import SandwichTrainer
from genesynth.evaluate.supernet.weights import Supernet
from genesynth.evaluate.train import Tensors
from genesynth.net.arch import Architecture
from genesynth.space import parse_prototype
from tests.evaluate.tiny_space import TINY

STRIDED = """
network strided {
  input 1x8x8
  classes 10
  stem { conv(out=8) bn relu }
  modules { blk(out=[8, 16]) blk(out=[8, 16], stride=[2, 1]) blk(out=8) }
  head { gap linear(out=classes) }
}
module blk(out, stride=1): residual(shortcut=[identity, project]) {
  pwconv(out=out) bn relu conv(kernel=[3, 5], stride=stride) bn
} then { relu }
"""

CONFIG = SupernetConfig(epochs=2, batch_size=32, random=2, plan_samples=8, full_maps=0.5)


def test_the_choices_that_change_a_maps_size_are_found_with_their_full_map_option() -> None:
    """Only the stride changes a later layer's map; its full-map option is 1 though the
    prototype lists 2 first. Widths, kernels (padded to keep the size) and shortcuts do not."""
    proto = parse_prototype(STRIDED, "strided.gs")
    full = FullMaps.of(proto)
    assert full.options == {"m02.stride": 1}
    assert full.project({"m02.stride": 2, "m02.out": 8}) == {"m02.stride": 1, "m02.out": 8}
    assert not FullMaps.of(parse_prototype(TINY, "tiny.gs"))


def test_full_maps_must_be_a_share() -> None:
    with pytest.raises(GenesynthError) as error:
        SupernetConfig(full_maps=1.5)
    assert str(error.value) == "`full_maps` must be a number from 0 to 1, but got full_maps=1.5"


def _trained(config: SupernetConfig) -> dict[int, list[Architecture]]:
    """The networks each epoch (one step each) of the sandwich trained, set up as the
    evaluator sets it up."""
    proto = parse_prototype(STRIDED, "strided.gs")
    data = Tensors.of(load_data("digits", limit=60).train)
    data = Tensors(data.x[:32], data.y[:32])
    space = BoundedSpace(proto, SpaceBounds(), config.plan_samples, config.seed)
    samples = space.plan_samples(config.plan_samples, config.seed)
    evaluator = SupernetEvaluator(load_data("digits", limit=60), config)
    trainer = SandwichTrainer(Supernet(plan(samples), config.seed), space, samples[0],
                              samples[1], config, **evaluator._full_maps(space))
    seen: dict[int, list[Architecture]] = {}
    learn = trainer._learn

    def record(model: Any, arch: Architecture, *args: Any) -> torch.Tensor:
        seen.setdefault(epoch, []).append(arch)
        return learn(model, arch, *args)

    trainer._learn = record  # type: ignore[method-assign]
    for epoch in (1, 2):
        trainer.train_epoch(epoch, data)
    return seen


def _strided(archs: list[Architecture]) -> list[bool]:
    full = map_sizes(archs[0])  # the largest: every map at its full size
    return [any(map_sizes(a)[k] != full[k] for k in map_sizes(a).keys() & full.keys())
            for a in archs]


def test_the_first_share_of_the_steps_trains_every_network_at_full_maps() -> None:
    """Epoch 1 of 2 (full_maps 0.5): the largest, the smallest and the random networks all
    at stride 1; epoch 2: the smallest at its own stride 2 (the random ones as drawn)."""
    seen = _trained(CONFIG)
    assert [len(seen[1]), len(seen[2])] == [4, 4]
    assert _strided(seen[1]) == [False, False, False, False]
    assert _strided(seen[2])[:2] == [False, True]
    assert seen[1][1].modules[0].branches == seen[2][1].modules[0].branches  # same smallest


def test_without_the_first_phase_the_smallest_is_strided_from_the_start() -> None:
    seen = _trained(replace(CONFIG, full_maps=0.0))
    assert _strided(seen[1])[:2] == [False, True]


def test_the_checkpoint_records_the_share_trained_at_full_maps() -> None:
    """It changes what the weights are: a checkpoint of another share is another supernet."""
    evaluator = SupernetEvaluator(load_data("digits", limit=60))
    assert evaluator._identity()["full_maps"] == 0.1
    other = SupernetEvaluator(load_data("digits", limit=60), replace(evaluator.config,
                                                                     full_maps=0.0))
    assert other._identity() != evaluator._identity()
