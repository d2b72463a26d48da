"""``--device`` reaches every place an evaluator runs networks: the supernet's training, the
scoring of candidates and the family's retraining (and the proxy training of the default
kind), through the API, the run's setup, the evaluator's context and a worker's rebuild.

This machine has only a CPU, so a dropped setting is made visible: the ``auto`` device (what
an evaluator falls back to without the run's) resolves to PyTorch's ``meta`` device here, and
every place that trains or scores records the device it was given.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

import genesynth
from genesynth.evaluate import device as devices
from genesynth.evaluate import train as training
from genesynth.evaluate.supernet import evaluator as supernet
from genesynth.evaluate.supernet.train import SandwichTrainer
from genesynth.record.run import read_run
from genesynth.synth.worker import rebuild
from tests.synth.test_engine import TINY

CPU = torch.device("cpu")


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Any]]:
    """Where each step ran: ``train`` (the proxy training or a member's retraining), ``score``
    (a candidate scored on the supernet), ``supernet`` (its training: trainer and tensors)."""
    found: dict[str, list[Any]] = {"train": [], "score": [], "supernet": []}
    monkeypatch.setattr(devices, "auto_device", lambda: torch.device("meta"))
    real_train, real_accuracy = training.train, supernet.accuracy
    real_epoch = SandwichTrainer.train_epoch

    def train(model: Any, *args: Any, **kwargs: Any) -> Any:
        device = args[4] if len(args) > 4 else kwargs.get("device", "cpu (the default)")
        found["train"].append(device)
        return real_train(model, *args, **kwargs)

    def accuracy(model: Any, data: Any, *args: Any) -> float:
        found["score"].append(next(model.parameters()).device)
        return real_accuracy(model, data, *args)

    def train_epoch(self: SandwichTrainer, epoch: int, data: Any, *rest: Any) -> float:
        tensor = next(iter(self.supernet.tensors.values()))
        found["supernet"] += [self.device, tensor.device, data.x.device]
        return real_epoch(self, epoch, data, *rest)

    monkeypatch.setattr(training, "train", train)
    monkeypatch.setattr(supernet, "train", train)
    monkeypatch.setattr(supernet, "accuracy", accuracy)
    monkeypatch.setattr(SandwichTrainer, "train_epoch", train_epoch)
    return found


def _run(tmp_path: Path, evaluator: Any) -> genesynth.SynthesisResult:
    data = genesynth.load_data("digits", limit=200)
    rule = genesynth.Constraint(min_accuracy=0.0, max_macs=None, max_params=None,
                                max_latency_ms=None)
    return genesynth.synthesize(genesynth.parse_prototype(TINY), rule, data=data, trials=2,
                                out=tmp_path / "run", evaluator=evaluator, family_size=1,
                                device="cpu", full_epochs=1)


def test_the_supernet_trains_scores_and_retrains_on_the_runs_device(
        tmp_path: Path, seen: dict[str, list[Any]]) -> None:
    result = _run(tmp_path, {"kind": "supernet", "supernet": {
        "epochs": 1, "batch_size": 64, "plan_samples": 8, "random": 1, "score_images": 64}})
    assert seen["supernet"] and set(seen["supernet"]) == {CPU}
    assert seen["score"] and set(seen["score"]) == {CPU}
    assert seen["train"] and set(seen["train"]) == {CPU}  # the family's retraining
    run = json.loads((result.out / "run.json").read_text())
    assert run["device"] == "cpu (1 thread)"  # the supernet's threads
    # a worker (or `genesynth family`) rebuilds the run and prepares it on its own device
    spec = read_run(result.out)
    assert spec is not None
    setup = rebuild(result.study, spec, result.out, device="cpu")
    assert setup.context().device == "cpu"
    assert setup.evaluator.device_info(setup.context()) == {"device": "cpu (1 thread)"}


def test_the_default_kind_trains_on_the_runs_device(
        tmp_path: Path, seen: dict[str, list[Any]]) -> None:
    result = _run(tmp_path, None)
    assert seen["train"] and set(seen["train"]) == {CPU}
    assert json.loads((result.out / "run.json").read_text())["device"] == "cpu"
