"""The supernet's optimizer steps: one per network of a step, and what no network of a step
used does not move."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import torch

from genesynth.data import load_data
from genesynth.errors import GenesynthError
from genesynth.evaluate.supernet import SupernetConfig, SupernetEvaluator
from genesynth.evaluate.supernet.plan import extreme, plan
from genesynth.evaluate.supernet.space import BoundedSpace, SpaceBounds
from genesynth.evaluate.supernet.train import SandwichTrainer
from genesynth.evaluate.supernet.weights import Supernet
from genesynth.evaluate.train import Tensors
from genesynth.space import parse_prototype
from tests.evaluate.tiny_space import TINY

CONFIG = SupernetConfig(epochs=2, batch_size=32, random=0, plan_samples=8, weight_decay=0.1)


def _trainer(config: SupernetConfig) -> tuple[SandwichTrainer, Tensors]:
    """The tiny space's sandwich (its widest and narrowest networks as the two ends) and one
    batch of digits: one step an epoch."""
    proto = parse_prototype(TINY, "tiny.gs")
    data = Tensors.of(load_data("digits", limit=60).train)
    wide, narrow = extreme(proto, largest=True), extreme(proto, largest=False)
    space = BoundedSpace(proto, SpaceBounds(), config.plan_samples, config.seed)
    supernet = Supernet(plan([wide, narrow]), config.seed)
    trainer = SandwichTrainer(supernet, space, wide, narrow, config)
    return trainer, Tensors(data.x[:32], data.y[:32])


@pytest.fixture(scope="module")
def trained() -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], set[str]]:
    """The shared tensors after a step of the widest network (every slot), then after a step
    of the narrowest only (no projecting shortcut); and the slots the narrowest lacks."""
    trainer, data = _trainer(CONFIG)
    supernet, narrow = trainer.supernet, trainer.smallest
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


def _steps(config: SupernetConfig) -> list[int]:
    """How many shared tensors each optimizer step of one batch of the sandwich (the largest,
    the smallest, ``random`` others) moved."""
    trainer, data = _trainer(config)
    supernet = trainer.supernet
    moved: list[int] = []
    last = {k: v.detach().clone() for k, v in supernet.tensors.items()}

    def count(*_: Any) -> None:
        now = {k: v.detach().clone() for k, v in supernet.tensors.items()}
        moved.append(sum(not torch.equal(now[k], last[k]) for k in now))
        last.update(now)

    trainer.optimizer.register_step_post_hook(count)
    trainer.train_epoch(1, data)
    return moved


def test_each_network_of_a_step_takes_an_optimizer_step_of_its_own() -> None:
    """The default: the largest, the smallest and the 2 random networks each take an AdamW
    step (summed into one step they learn more slowly: docs/supernet.md, issue 26's sixth
    round)."""
    moved = _steps(replace(CONFIG, random=2))
    assert len(moved) == 4 and min(moved) > 0


def test_one_step_on_the_summed_gradients_when_asked() -> None:
    moved = _steps(replace(CONFIG, random=2, separate_steps=False))
    assert len(moved) == 1 and moved[0] > 0


def test_separate_steps_must_be_a_boolean() -> None:
    with pytest.raises(GenesynthError) as error:
        SupernetConfig(separate_steps=1)  # type: ignore[arg-type]
    assert str(error.value) == "`separate_steps` must be true or false, but got separate_steps=1"


def test_the_checkpoint_records_whether_the_steps_were_separate() -> None:
    """It changes what the weights are: a checkpoint trained with one summed step is another
    supernet (and one from before the setting existed too)."""
    evaluator = SupernetEvaluator(load_data("digits", limit=60))
    assert evaluator._identity()["separate_steps"] is True
    other = SupernetEvaluator(load_data("digits", limit=60),
                              replace(evaluator.config, separate_steps=False))
    assert other._identity() != evaluator._identity()
