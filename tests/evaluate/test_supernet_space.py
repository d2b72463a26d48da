"""The supernet's space: the prototype within the constraint's static bounds."""

from __future__ import annotations

import random
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from genesynth.dashboard.plain import supernet_line
from genesynth.data import load_data
from genesynth.evaluate.supernet import SupernetConfig, SupernetError, SupernetEvaluator
from genesynth.evaluate.supernet.plan import plan
from genesynth.evaluate.supernet.space import BoundedSpace, SpaceBounds
from genesynth.evaluate.supernet.weights import Supernet, read_header
from genesynth.evaluate.train import TrainConfig
from genesynth.events import SupernetProgress
from genesynth.goal.constraint import Constraint
from genesynth.net.costs import cost
from genesynth.space import parse_prototype
from genesynth.space.choosers import RandomChooser
from tests.evaluate.tiny_space import TINY

BOUNDS = SpaceBounds(max_macs=300_000, max_params=6_000)  # the whole space: <= 894K, 14.4K
CONFIG = SupernetConfig(epochs=1, batch_size=64, random=1, calibration_batches=1,
                        plan_samples=8)


@pytest.fixture(scope="module")
def proto() -> Any:
    return parse_prototype(TINY, "tiny.gs")


@pytest.fixture(scope="module")
def data() -> Any:
    return load_data("digits", limit=200)


def _inside(arch: Any, bounds: SpaceBounds = BOUNDS) -> bool:
    c = cost(arch)
    return bounds.admits(c.macs, c.params)


def test_bounds_of_a_constraint_cover_and_describe() -> None:
    rule = Constraint(min_accuracy=50.0, max_macs=40_000_000, max_params=400_000)
    bounds = SpaceBounds.of(rule)
    assert bounds == SpaceBounds(40_000_000, 400_000)
    assert bounds.describe() == "MACs <= 40M, params <= 400K"
    assert SpaceBounds.of(None).describe() == "unbounded"
    assert SpaceBounds.from_dict(bounds.to_dict()) == bounds
    assert SpaceBounds.from_dict(None) == SpaceBounds()  # a checkpoint of before: unbounded
    assert SpaceBounds().covers(bounds) and not bounds.covers(SpaceBounds())
    assert SpaceBounds(50_000_000, 400_000).covers(bounds)
    assert not SpaceBounds(50_000_000, 300_000).covers(bounds)


def test_extremes_and_samples_stay_inside_the_bounds(proto: Any) -> None:
    space = BoundedSpace(proto, BOUNDS, networks=64, seed=0)
    largest, smallest = space.extremes()
    assert _inside(largest) and _inside(smallest)
    macs = [e.macs for e in space.entries]
    assert all(BOUNDS.admits(e.macs, e.params) for e in space.entries)
    assert cost(largest).macs >= max(macs) and cost(smallest).macs <= min(macs)
    rng = random.Random(1)
    draws = [space.draw(rng) for _ in range(30)]
    assert all(a is not None and _inside(a) for a in draws)
    samples = space.plan_samples(8, 0)
    assert samples[:2] == [largest, smallest] and all(_inside(a) for a in samples)


def test_slots_are_sized_for_the_bounded_space(proto: Any) -> None:
    space = BoundedSpace(proto, BOUNDS, networks=64, seed=0)
    bounded = plan(space.plan_samples(8, 0))
    whole = plan(BoundedSpace(proto, SpaceBounds(), 8).plan_samples(8, 0))
    assert bounded.num_params <= whole.num_params  # each slot's largest setting inside
    assert cost(space.extremes()[0]).macs <= BOUNDS.max_macs < cost(  # type: ignore[operator]
        whole_space_largest(proto)).macs
    supernet = Supernet(bounded)
    rng = random.Random(5)
    fits = 0
    for _ in range(200):  # networks of the bounded space the pool did not draw still fit
        arch = proto.sample(chooser=RandomChooser(rng.randrange(2**31)))
        if _inside(arch):
            supernet.take(arch)
            fits += 1
    assert fits >= 20


def whole_space_largest(proto: Any) -> Any:
    return BoundedSpace(proto, SpaceBounds(), 8).extremes()[0]


def test_no_network_inside_the_bounds_is_a_clear_error(proto: Any) -> None:
    with pytest.raises(SupernetError, match=r"^none of the [\d,]+ networks drawn from the "
                       r"prototype 'tiny' is inside the constraint's bounds \(MACs <= 1K\): "
                       "widen the bounds or the prototype's choices$"):
        BoundedSpace(proto, SpaceBounds(max_macs=1000), networks=8)


def _prepare(proto: Any, data: Any, run_dir: Path, rule: Constraint | None,
             start_from: Path | None = None) -> list[SupernetProgress]:
    events: list[SupernetProgress] = []
    evaluator = SupernetEvaluator(data, CONFIG, TrainConfig(epochs=1, batch_size=64),
                                  start_from=str(start_from) if start_from else None)
    evaluator.prepare(SimpleNamespace(prototype=proto, dataset=data, run_dir=run_dir, seed=0,
                                      emit=events.append, constraint=rule, device=None,
                                      compile=None))
    return events


def test_a_checkpoint_serves_narrower_bounds_never_wider(proto: Any, data: Any,
                                                          tmp_path: Path) -> None:
    wide = Constraint(max_macs=400_000, max_params=8_000)
    narrow = Constraint(max_macs=300_000, max_params=6_000)
    first = _prepare(proto, data, tmp_path, wide)[-1]
    assert (first.bounds, first.wider, first.loaded) == ("MACs <= 400K, params <= 8K", "", False)
    path = tmp_path / "supernet.safetensors"
    assert read_header(path)["bounds"] == {"max_macs": 400_000, "max_params": 8_000}
    again = _prepare(proto, data, tmp_path, narrow)[-1]
    assert again.loaded and again.wider == "MACs <= 300K, params <= 6K"
    assert supernet_line(again) == (
        "supernet: loaded from the run directory (1 epoch trained before; trained for MACs <= "
        "400K, params <= 8K, wider than this run's MACs <= 300K, params <= 6K: reused)")
    elsewhere = _prepare(proto, data, tmp_path / "run", narrow, start_from=path)[-1]
    assert elsewhere.loaded  # --supernet-from: a checkpoint trained before (e.g. by torchrun)
    with pytest.raises(SupernetError) as caught:
        _prepare(proto, data, tmp_path, Constraint(max_macs=500_000))
    assert str(caught.value) == (
        f"{path}: this supernet checkpoint was trained for narrower bounds (MACs <= 400K, "
        "params <= 8K) than this run's (MACs <= 500K); a supernet serves bounds inside its "
        "own, never wider ones: delete it or use another run directory")
