"""The supernet evaluator end to end through the API, CI-sized: rebuilt from its description,
prepared by the engine (the supernet trained once, checkpointed), candidates scored, the
family retrained stand-alone."""

from __future__ import annotations

import json
from pathlib import Path

import genesynth
from genesynth.evaluate.supernet.evaluator import SupernetEvaluator
from genesynth.evaluate.supernet.train import SupernetConfig
from genesynth.evaluate.train import TrainConfig
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
    assert json.loads((out / "run.json").read_text())["evaluator"]["kind"] == "supernet"
    assert len(result.family) == 1 and (out / "family.json").is_file()
