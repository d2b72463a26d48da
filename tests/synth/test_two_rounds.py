"""Done when (issue 12): the two-round design — synthesize, report, refine, synthesize again
with warm start — re-trains none of the networks the first round measured."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import genesynth
from genesynth.evaluate.train import TrainConfig, TrainingEvaluator
from genesynth.events import WarmStarted
from genesynth.goal.constraint import Constraint

RULE = Constraint(min_accuracy=10.0, max_macs=None, max_params=None, max_latency_ms=None)
FAST = dict(proxy=TrainConfig(epochs=1, batch_size=64), full=TrainConfig(epochs=1, batch_size=64))


class Trainings:
    """Counts the networks TrainingEvaluator trains, for the search and for the family."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.search: Counter[str] = Counter()
        self.family: Counter[str] = Counter()
        evaluate, retrain = TrainingEvaluator.evaluate, TrainingEvaluator.retrain

        def counted_evaluate(evaluator: Any, arch: Any, report: Any) -> Any:
            self.search[arch.key] += 1
            return evaluate(evaluator, arch, report)

        def counted_retrain(evaluator: Any, arch: Any, report: Any, searched: Any = None) -> Any:
            self.family[arch.key] += 1
            return retrain(evaluator, arch, report, searched)

        monkeypatch.setattr(TrainingEvaluator, "evaluate", counted_evaluate)
        monkeypatch.setattr(TrainingEvaluator, "retrain", counted_retrain)

    def take(self) -> tuple[Counter[str], Counter[str]]:
        taken = (self.search.copy(), self.family.copy())
        self.search.clear()
        self.family.clear()
        return taken


def test_the_second_round_trains_none_of_the_first_rounds_networks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = genesynth.load_data("digits", limit=240)
    trainings = Trainings(monkeypatch)
    cache = tmp_path / "cache"
    first = genesynth.synthesize("prototypes/attonet16.gs", RULE, data=data, trials=4,
                                 family_size=2, out=tmp_path / "round1", cache=cache, **FAST)
    searched, retrained = trainings.take()
    assert sum(searched.values()) >= 1 and retrained
    genesynth.write_report(tmp_path / "round1")
    assert "## Module stacks" in (tmp_path / "round1" / "report.md").read_text()
    refined = genesynth.refine(tmp_path / "round1", member="A", open="m09-m16", around=True)
    path = tmp_path / "attonet16_a.gs"
    path.write_text(refined.text)
    events: list[Any] = []
    second = genesynth.synthesize(path, RULE, data=data, trials=4, family_size=2,
                                  out=tmp_path / "round2", cache=cache,
                                  warm_start=[tmp_path / "round1"], listeners=[events.append],
                                  **FAST)
    searched2, retrained2 = trainings.take()
    warm = [e for e in events if isinstance(e, WarmStarted)]
    assert warm[0].fitted >= 1  # member A fits the refined space; its relatives do not
    assert set(searched2) & (set(searched) | set(retrained)) == set()
    assert set(retrained2) & set(retrained) == set()
    reused = [t for t in second.trials if "reused" in t.user_attrs]
    assert first.family[0].key in {t.user_attrs["key"] for t in reused}
