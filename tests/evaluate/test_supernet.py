"""SupernetEvaluator: trained once, checkpointed, resumable, refuses foreign checkpoints."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch

from genesynth.data import load_data
from genesynth.evaluate.base import EvaluatorContext
from genesynth.evaluate.supernet import SupernetConfig, SupernetError, SupernetEvaluator
from genesynth.evaluate.supernet.evaluator import DEFAULT_SUPERNET
from genesynth.evaluate.supernet.train import recalibrate, spread
from genesynth.evaluate.supernet.weights import _mismatch, read_checkpoint
from genesynth.evaluate.train import Tensors, TrainConfig, accuracy
from genesynth.events import SupernetProgress
from genesynth.net.builder import build
from genesynth.net.costs import cost
from genesynth.space import parse_prototype
from tests.evaluate.tiny_space import TINY

ROOT = Path(__file__).resolve().parents[2]
CONFIG = SupernetConfig(epochs=2, batch_size=64, random=1, calibration_batches=2,
                        plan_samples=8)


@pytest.fixture(scope="module")
def data() -> Any:
    return load_data("digits", limit=400)


def _context(prototype: Any, dataset: Any, run_dir: Any, seed: int,
             emit: Any = lambda event: None) -> Any:
    """What the evaluator contract's prepare(context) passes."""
    return EvaluatorContext(prototype, dataset, run_dir, seed, emit, device="cpu")


def tiny(text: str = TINY) -> Any:
    return parse_prototype(text, "tiny.gs")


def prepared(data: Any, run_dir: Path | None, config: SupernetConfig = CONFIG,
             proto: Any = None) -> tuple[SupernetEvaluator, list[SupernetProgress]]:
    """The evaluator, prepared, and its events but the periodic step progress (at most one a
    second: how many there are depends on how busy the machine is)."""
    events: list[SupernetProgress] = []

    def keep(event: SupernetProgress) -> None:
        if event.step == 0 or event.resumed:
            events.append(event)

    evaluator = SupernetEvaluator(data, config, TrainConfig(epochs=1, batch_size=64))
    evaluator.prepare(_context(proto or tiny(), data, run_dir, 0, keep))
    return evaluator, events


def test_trains_once_then_scores_candidates(data: Any, tmp_path: Path) -> None:
    evaluator, events = prepared(data, tmp_path)
    events = [e for e in events if not e.steps]  # a step's progress comes after a second
    assert [(e.epoch, e.loss is not None, e.ready) for e in events] == [
        (0, False, False), (1, True, False), (2, True, False), (2, False, True)]
    assert events[1].eta is not None and events[2].eta == 0.0
    header, _ = read_checkpoint(tmp_path / "supernet.safetensors")
    assert header["epoch"] == 2 and set(header) == {"prototype", "dataset", "plan", "training",
                                                      "bounds", "epoch"}
    assert header["bounds"] == {"max_macs": None, "max_params": None}  # no constraint given
    arch = tiny().sample(seed=3)
    reports: list[tuple[Any, ...]] = []
    m = evaluator.evaluate(arch, lambda *r: reports.append(r))
    c = cost(arch)
    assert (m.params, m.macs) == (c.params, c.macs) and 0.0 <= m.accuracy <= 100.0
    assert reports == [(1, None, m.accuracy)]  # a score: nothing trained, so no loss
    assert evaluator.evaluate(arch, lambda *_: None).accuracy == m.accuracy  # deterministic
    assert SupernetEvaluator.prunable is False
    again = SupernetEvaluator.from_description(evaluator.describe(), lambda: data)
    assert again.describe() == evaluator.describe()

    loaded, events = prepared(data, tmp_path)  # the checkpoint is loaded, not trained again
    assert [(e.epoch, e.ready) for e in events] == [(2, True)]
    assert loaded.evaluate(arch, lambda *_: None).accuracy == m.accuracy


def test_a_checkpoint_trained_otherwise_names_the_settings_that_differ(
        data: Any, tmp_path: Path) -> None:
    prepared(data, tmp_path, replace(CONFIG, epochs=1))
    with pytest.raises(SupernetError) as error:
        prepared(data, tmp_path, replace(CONFIG, epochs=1, lr=0.02, random=2))
    assert str(error.value) == (
        f"{tmp_path / 'supernet.safetensors'}: this supernet checkpoint was trained for other "
        "training settings (lr=0.01, random=1, this run has lr=0.02, random=2); delete it or "
        "use another run directory")
    # a checkpoint from before a setting existed lacks it
    assert _mismatch("training", {"lr": 0.01}, {"lr": 0.01, "separate_steps": True}) == (
        "other training settings (separate_steps unset, this run has separate_steps=True)")


def test_a_checkpoint_of_another_prototype_or_dataset_is_refused(data: Any,
                                                                 tmp_path: Path) -> None:
    prepared(data, tmp_path, replace(CONFIG, epochs=1))
    other = tiny(TINY.replace("kernel=[3, 5]", "kernel=[3, 7]"))
    with pytest.raises(SupernetError, match=r"supernet.safetensors: this supernet checkpoint "
                                            r"was trained for another prototype"):
        prepared(data, tmp_path, replace(CONFIG, epochs=1), other)
    with pytest.raises(SupernetError, match="was trained for another dataset"):
        prepared(load_data("digits", limit=300), tmp_path, replace(CONFIG, epochs=1))
    commented = tiny("# a comment changes nothing\n" + TINY.replace("  ", "    "))
    prepared(data, tmp_path, replace(CONFIG, epochs=1), commented)
    (tmp_path / "supernet.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(SupernetError, match="not a readable supernet checkpoint"):
        prepared(data, tmp_path, replace(CONFIG, epochs=1))


def test_resuming_ends_with_the_same_weights(data: Any, tmp_path: Path) -> None:
    straight, _ = prepared(data, tmp_path / "straight")

    def interrupt(event: SupernetProgress) -> None:
        if event.epoch == 1:
            raise KeyboardInterrupt

    stopped = SupernetEvaluator(data, CONFIG, TrainConfig(epochs=1, batch_size=64))
    with pytest.raises(KeyboardInterrupt):
        stopped.prepare(_context(tiny(), data, tmp_path / "split", 0, interrupt))
    resumed, events = prepared(data, tmp_path / "split")
    assert (events[0].epoch, events[0].resumed) == (1, True)
    assert straight.supernet is not None and resumed.supernet is not None
    for name, tensor in straight.supernet.tensors.items():
        assert torch.equal(tensor, resumed.supernet.tensors[name]), name


KILLED = """
import sys
from genesynth.data import load_data
from types import SimpleNamespace
from genesynth.evaluate.supernet import SupernetConfig, SupernetEvaluator
from genesynth.space import parse_prototype
from tests.evaluate.test_supernet import CONFIG, TINY, _context
from dataclasses import replace
data = load_data("digits", limit=400)
evaluator = SupernetEvaluator(data, replace(CONFIG, epochs=500))
evaluator.prepare(_context(parse_prototype(TINY, "tiny.gs"), data, sys.argv[1], 0))
"""


def test_a_killed_training_resumes_after_its_last_epoch(data: Any, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", KILLED, str(tmp_path)], cwd=ROOT, env=env)
    path = tmp_path / "supernet.safetensors"
    deadline = time.monotonic() + 240
    while not path.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert path.exists(), "the child saved no epoch in time"
    done = read_checkpoint(path)[0]["epoch"]
    _, events = prepared(data, tmp_path, replace(CONFIG, epochs=done + 1))
    events = [e for e in events if not e.steps]  # a step's progress comes after a second
    assert [(e.epoch, e.resumed, e.ready) for e in events] == [
        (done, True, False), (done + 1, False, False), (done + 1, False, True)]


def test_family_members_are_trained_stand_alone(data: Any) -> None:
    evaluator, _ = prepared(data, None, replace(CONFIG, epochs=1))
    arch = tiny().sample(seed=1)
    searched = evaluator.evaluate(arch, lambda *_: None)
    epochs: list[int] = []
    m, weights = evaluator.retrain(arch, lambda e, loss, acc: epochs.append(e), searched)
    assert epochs == [1] and weights is not None and 0.0 <= m.accuracy <= 100.0
    evaluator.finetune = True
    tuned, _ = evaluator.retrain(arch, lambda *_: None, searched)
    assert tuned.accuracy != m.accuracy or tuned.curve != m.curve


def test_a_score_reads_score_images_validation_images_of_every_class(data: Any) -> None:
    evaluator, _ = prepared(data, None, replace(CONFIG, score_images=7))
    arch = tiny().sample(seed=3)
    score = evaluator.evaluate(arch, lambda *_: None).accuracy
    model = evaluator._inherited(arch)
    recalibrate(model, evaluator.train_data, evaluator.config)
    chosen = spread(evaluator.val_data, 7, CONFIG.seed)
    assert score == accuracy(model, chosen)
    assert len(set(chosen.y.tolist())) == 7  # 7 images of 7 classes, not the first 7
    assert score * 7 / 100 == pytest.approx(round(score * 7 / 100))  # k of 7 images
    assert DEFAULT_SUPERNET.score_images == 2500 and CONFIG.score_images is None  # None: all


def sorted_by_class(split: Tensors) -> Tensors:
    order = torch.argsort(split.y, stable=True)  # as an image folder's split is
    return Tensors(split.x[order], split.y[order])


def test_spread_takes_every_class_in_proportion_from_a_split_sorted_by_class(data: Any) -> None:
    ordered = sorted_by_class(Tensors.of(data.train))
    assert ordered.y[:39].tolist() == [0] * 39
    chosen = spread(ordered, 40, seed=0)
    assert torch.bincount(chosen.y, minlength=10).tolist() == [4] * 10
    assert all(len(set(chosen.y[i : i + 10].tolist())) == 10 for i in range(0, 40, 10))
    assert torch.equal(spread(ordered, 40, seed=0).x, chosen.x)  # the same for every candidate
    assert len(spread(ordered, 10_000, seed=0).y) == len(ordered.y)


def test_batch_norm_is_recalibrated_on_images_of_every_class(data: Any) -> None:
    ordered = sorted_by_class(Tensors.of(data.train))
    config = replace(CONFIG, calibration_batches=2, batch_size=20)
    arch = tiny().sample(seed=3)
    model, expected = build(arch), build(arch)
    expected.load_state_dict(model.state_dict())
    recalibrate(model, ordered, config)
    for norm in expected.modules():
        if isinstance(norm, torch.nn.BatchNorm2d):
            norm.reset_running_stats()
            norm.momentum = None
    expected.train()
    with torch.no_grad():
        chosen = spread(ordered, 40, config.seed).x
        for start in (0, 20):
            expected.forward_logits(chosen[start : start + 20])
    assert torch.equal(model.stem[1].running_mean, expected.stem[1].running_mean)
    assert not model.training


def test_bad_settings_are_named() -> None:
    with pytest.raises(Exception, match=r"`epochs` must be an integer >= 1, but got epochs=0"):
        SupernetConfig(epochs=0)
    with pytest.raises(Exception, match=r"`lr` must be a number > 0, but got lr=-1"):
        SupernetConfig(lr=-1)
    with pytest.raises(Exception, match=r"`score_images` must be an integer >= 1, but got "
                                        r"score_images=0"):
        SupernetConfig(score_images=0)


def test_an_interrupt_inside_the_first_epoch_keeps_the_steps_saved(
    data: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Today a supernet saved per epoch only: an interrupt in epoch 1 (2-3 h at CIFAR-10
    # scale) lost everything. Now a checkpoint every CHECKPOINT_EVERY seconds (0 here: every
    # step), and the run resumes mid-epoch with the weights of one never stopped.
    import genesynth.evaluate.supernet.train as training

    monkeypatch.setattr(training, "CHECKPOINT_EVERY", 0.0)
    monkeypatch.setattr(training, "STEP_EVERY", 0.0)
    straight, _ = prepared(data, tmp_path / "straight")

    def interrupt(event: SupernetProgress) -> None:
        if event.epoch == 0 and event.step == 3:
            raise KeyboardInterrupt

    stopped = SupernetEvaluator(data, CONFIG, TrainConfig(epochs=1, batch_size=64))
    assert stopped.kept() == ""
    with pytest.raises(KeyboardInterrupt):
        stopped.prepare(_context(tiny(), data, tmp_path / "split", 0, interrupt))
    header, _ = read_checkpoint(tmp_path / "split" / "supernet.safetensors")
    assert (header["epoch"], header["step"]) == (0, 2)  # step 3 was interrupted before its save
    assert stopped.kept().startswith(
        f"the supernet's training is kept up to step 2 of {stopped.steps} in epoch 1 of 2 "
        "(saved ")
    assert stopped.kept().endswith("ago; a checkpoint every 0 min and after each epoch)")
    resumed, events = prepared(data, tmp_path / "split")
    assert (events[0].epoch, events[0].step, events[0].resumed) == (0, 2, True)
    assert straight.supernet is not None and resumed.supernet is not None
    for name, tensor in straight.supernet.tensors.items():
        assert torch.equal(tensor, resumed.supernet.tensors[name]), name


def test_an_interrupt_before_any_checkpoint_says_nothing_is_kept(
    data: Any, tmp_path: Path
) -> None:
    def interrupt(event: SupernetProgress) -> None:
        raise KeyboardInterrupt

    stopped = SupernetEvaluator(data, CONFIG, TrainConfig(epochs=1, batch_size=64))
    with pytest.raises(KeyboardInterrupt):
        stopped.prepare(_context(tiny(), data, tmp_path, 0, interrupt))
    assert stopped.kept() == ("the supernet's training had no checkpoint yet (one every 10 min "
                              "and after each epoch): it starts again from its first step")


def test_the_training_time_is_estimated_before_the_first_step(data: Any) -> None:
    from itertools import count

    from genesynth.evaluate.supernet.plan import plan
    from genesynth.evaluate.supernet.space import BoundedSpace, SpaceBounds
    from genesynth.evaluate.supernet.train import SandwichTrainer, estimate_seconds
    from genesynth.evaluate.supernet.weights import Supernet

    space = BoundedSpace(tiny(), SpaceBounds(), CONFIG.plan_samples, CONFIG.seed)
    samples = space.plan_samples(CONFIG.plan_samples, CONFIG.seed)
    supernet = Supernet(plan(samples), CONFIG.seed)
    trainer = SandwichTrainer(supernet, space, samples[0], samples[1], CONFIG)
    train = Tensors.of(data.train)
    before = {k: v.clone() for k, v in supernet.tensors.items()}
    rng = torch.get_rng_state()
    ticks = count()  # every timed pass takes one tick
    seconds = estimate_seconds(trainer, train, clock=lambda: float(next(ticks)))
    steps = -(-len(train.y) // CONFIG.batch_size)
    # (largest 1 s + smallest 1 s) x (1 + one random network at their mean / 2) on 8 images,
    # scaled to a batch of 64, for every step of both epochs
    assert seconds == 2 * 1.5 * 64 / 8 * steps * 2
    assert estimate_seconds(trainer, train, start=1, first=2,
                            clock=lambda: float(next(ticks))) == 2 * 1.5 * 8 * (steps - 2)
    assert torch.equal(torch.get_rng_state(), rng)  # the training draws what it would have
    assert all(torch.equal(v, before[k]) for k, v in supernet.tensors.items())
    _, events = prepared(data, None)
    assert events[0].eta is not None and events[0].eta > 0  # said with the start
