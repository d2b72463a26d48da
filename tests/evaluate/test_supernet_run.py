"""The supernet evaluator end to end through the API, CI-sized: rebuilt from its description,
prepared by the engine (the supernet trained once, checkpointed), candidates scored, the
family retrained stand-alone."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from pathlib import Path

import torch

import genesynth
from genesynth.evaluate import resolve_evaluator
from genesynth.evaluate.base import EvaluatorContext
from genesynth.evaluate.supernet.evaluator import SUPERNET_BUDGETS, SupernetEvaluator
from genesynth.evaluate.supernet.train import SupernetConfig, step_progress
from genesynth.evaluate.train import TrainConfig, budgets_for
from genesynth.events import SupernetProgress
from genesynth.record.reader import state_from_study
from genesynth.synth.api import Request, make_setup
from tests.synth.test_engine import TINY


def test_a_synthesis_scored_by_the_supernet(tmp_path: Path) -> None:
    data = genesynth.load_data("digits", limit=200)
    evaluator = SupernetEvaluator(data, SupernetConfig(epochs=1, plan_samples=16),
                                  TrainConfig(epochs=1, batch_size=64))
    again = SupernetEvaluator.from_description(evaluator.describe(), lambda: data)
    assert isinstance(again, SupernetEvaluator) and again.describe() == evaluator.describe()
    rule = genesynth.Constraint(min_accuracy=0.0, max_macs=None, max_params=None,
                                max_latency_ms=None)
    result = genesynth.synthesize(genesynth.parse_prototype(TINY), rule, data=data, trials=4,
                                  out=tmp_path / "run", evaluator=evaluator, family_size=1)
    out = tmp_path / "run"
    assert (out / "supernet.safetensors").is_file() or any(out.glob("supernet*"))
    scored = [t for t in result.trials if t.user_attrs.get("state") == "complete"]
    assert scored and all(0 <= t.user_attrs["accuracy"] <= 100 for t in scored)
    run = json.loads((out / "run.json").read_text())
    assert run["evaluator"]["kind"] == "supernet" and run["measure"] == "score"
    assert len(result.family) == 1 and (out / "family.json").is_file()
    # every view calls a trial's accuracy a score: from the events, and from the study alone
    started = json.loads((out / "events.jsonl").read_text().splitlines()[0])
    assert started["event"] == "RunStarted" and started["measure"] == "score"
    assert state_from_study(result.study, run).measure == "score"
    # the device is in the header and run.json (today "device": "")
    assert run["device"] == "cpu (1 thread)" and started["device"] == "cpu (1 thread)"


def test_a_partial_description_takes_the_datasets_defaults() -> None:
    data = genesynth.load_data("digits", limit=200)
    made = resolve_evaluator({"kind": "supernet", "supernet": {"epochs": 2, "seed": 5},
                              "full": {"epochs": 3}}, lambda: data)
    assert isinstance(made, SupernetEvaluator)
    assert made.config == replace(SUPERNET_BUDGETS["digits"], epochs=2, seed=5)
    assert made.full == replace(budgets_for("digits", data.input_shape)[1], epochs=3, seed=5)
    assert resolve_evaluator(made.describe(), lambda: data).describe() == made.describe()


def test_steps_are_reported_at_most_every_interval_with_the_pace_eta() -> None:
    events: list[SupernetProgress] = []
    now = [100.0]
    progress = step_progress(events.append, epochs=3, epoch=2, start=1, began=90.0, every=1.0,
                             clock=lambda: now[0])
    for step, at in ((1, 100.5), (2, 101.0), (3, 101.2), (4, 102.5), (5, 104.0)):
        now[0] = at
        progress(step, 5)  # the last step is the epoch's end: its own event follows
    assert [(e.epoch, e.step, e.steps, e.seconds, e.eta) for e in events] == [
        (1, 2, 5, 11.0, 11.0 / 2 * 8), (1, 4, 5, 12.5, 12.5 / 4 * 6)]


def test_a_second_worker_waits_for_the_training_then_loads_it(tmp_path: Path) -> None:
    data = genesynth.load_data("digits", limit=200)
    proto = genesynth.parse_prototype(TINY)
    config = SupernetConfig(epochs=1, batch_size=64, plan_samples=8, random=1)
    go = threading.Event()
    first: list[SupernetProgress] = []
    second: list[SupernetProgress] = []

    def held(event: SupernetProgress) -> None:  # trains, holding the lock (its own handle)
        first.append(event)
        go.wait(30)

    trainer, loader = SupernetEvaluator(data, config), SupernetEvaluator(data, config)
    training = threading.Thread(target=trainer.prepare, args=(
        EvaluatorContext(proto, data, tmp_path, 0, held),))
    training.start()
    while not first:
        time.sleep(0.01)
    waiting = threading.Thread(target=loader.prepare, args=(
        EvaluatorContext(proto, data, tmp_path, 0, second.append),))
    waiting.start()
    waiting.join(0.5)
    assert waiting.is_alive() and second == []  # blocked on supernet.lock
    go.set()
    training.join(60)
    waiting.join(60)
    assert [e.ready for e in first][-1] and not first[-1].loaded
    assert [(e.epoch, e.ready, e.loaded) for e in second] == [(1, True, True)]
    assert trainer.supernet is not None and loader.supernet is not None
    for name, tensor in trainer.supernet.tensors.items():
        assert torch.equal(tensor, loader.supernet.tensors[name]), name


def test_a_kind_takes_the_runs_seed_and_family_budget(tmp_path: Path) -> None:
    data = genesynth.load_data("digits", limit=200)
    rule = genesynth.Constraint(min_accuracy=0.0, max_macs=None, max_params=None,
                                max_latency_ms=None)
    for evaluator in ("supernet", {"kind": "supernet", "supernet": {"epochs": 2}}):
        setup = make_setup(Request(genesynth.parse_prototype(TINY), rule, data, 2,
                                   tmp_path / "run", evaluator=evaluator, seed=7,
                                   family_size=1, full_epochs=3))
        described = setup.spec.evaluator
        assert (described["supernet"]["seed"], described["full"]["seed"]) == (7, 7)
        assert described["full"]["epochs"] == setup.spec.full_epochs == 3
        assert described["supernet"]["epochs"] == (
            2 if isinstance(evaluator, dict) else SUPERNET_BUDGETS["digits"].epochs)
