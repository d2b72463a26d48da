"""The supernet's optimizer step: what no network of a step used does not move."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from genesynth.data import load_data
from genesynth.evaluate.supernet import SupernetConfig
from genesynth.evaluate.supernet.plan import extreme, plan
from genesynth.evaluate.supernet.space import BoundedSpace, SpaceBounds
from genesynth.evaluate.supernet.train import SandwichTrainer
from genesynth.evaluate.supernet.weights import Supernet
from genesynth.evaluate.train import Tensors
from genesynth.space import parse_prototype
from tests.evaluate.tiny_space import TINY

CONFIG = SupernetConfig(epochs=2, batch_size=32, random=0, plan_samples=8, weight_decay=0.1)


@pytest.fixture(scope="module")
def trained() -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], set[str]]:
    """The shared tensors after a step of the widest network (every slot), then after a step
    of the narrowest only (no projecting shortcut); and the slots the narrowest lacks."""
    proto = parse_prototype(TINY, "tiny.gs")
    data = Tensors.of(load_data("digits", limit=60).train)
    data = Tensors(data.x[:32], data.y[:32])  # one step an epoch
    wide, narrow = extreme(proto, largest=True), extreme(proto, largest=False)
    space = BoundedSpace(proto, SpaceBounds(), CONFIG.plan_samples, CONFIG.seed)
    supernet = Supernet(plan([wide, narrow]), CONFIG.seed)
    trainer = SandwichTrainer(supernet, space, wide, narrow, CONFIG)
    trainer.train_epoch(1, data)  # every slot: momentum and decay everywhere
    before = {k: v.detach().clone() for k, v in supernet.tensors.items()}
    trainer.largest = trainer.smallest = narrow
    trainer.train_epoch(2, data)
    after = {k: v.detach().clone() for k, v in supernet.tensors.items()}
    unused = {k for k in before if ".shortcut." in k}
    return before, after, unused


def test_an_option_no_network_of_the_step_used_does_not_move(trained: Any) -> None:
    """A projecting shortcut the step's networks did not take has no gradient, so AdamW skips
    it: neither its old momentum nor its weight decay moves it."""
    before, after, unused = trained
    assert unused == {"m01.shortcut.0:conv/weight", "m01.shortcut.1:bn/weight",
                      "m01.shortcut.1:bn/bias", "m02.shortcut.0:conv/weight",
                      "m02.shortcut.1:bn/weight", "m02.shortcut.1:bn/bias"}
    for name in unused:
        assert torch.equal(after[name], before[name]), name


def test_the_options_the_step_used_move(trained: Any) -> None:
    before, after, unused = trained
    assert all(not torch.equal(after[k], before[k]) for k in ("stem.0:conv/weight",
                                                             "head.1:linear/weight"))
