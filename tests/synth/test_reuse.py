"""Measurements reused across runs through the evaluation cache: no network is trained twice."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import genesynth
from genesynth.evaluate.base import Evaluator, Report
from genesynth.evaluate.cache import CacheWarning
from genesynth.events import TrialFinished, WarmStarted
from genesynth.goal.constraint import Constraint
from genesynth.net.measurement import Measurement
from tests.synth.test_engine import TINY

RULE = Constraint(min_accuracy=10.0, max_macs=None, max_params=None, max_latency_ms=None)


class Counting(Evaluator):
    """A deterministic evaluator that counts how often each network is measured."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def evaluate(self, arch: Any, report: Report) -> Measurement:
        self.calls[arch.key] += 1
        accuracy = 50.0 + int(arch.key[:2], 16) / 10
        report(1, 1.0, accuracy)
        c = genesynth.cost(arch)
        return Measurement(accuracy, c.params, c.macs, curve=(accuracy,))

    def describe(self) -> dict[str, Any]:
        return {"kind": "counting", "version": 1}


def _synthesize(out: Path, evaluator: Any, cache: Path | None, seed: int = 0,
                events: list[Any] | None = None) -> Any:
    return genesynth.synthesize(
        genesynth.parse_prototype(TINY), RULE, data="digits", trials=6, family_size=2,
        out=out, seed=seed, evaluator=evaluator, cache=cache,
        listeners=[events.append] if events is not None else [],
    )


def test_a_second_run_trains_none_of_the_networks_the_first_measured(tmp_path: Path) -> None:
    first, second = Counting(), Counting()
    _synthesize(tmp_path / "a", first, tmp_path / "cache")
    events: list[Any] = []
    result = _synthesize(tmp_path / "b", second, tmp_path / "cache", events=events)
    assert set(second.calls) & set(first.calls) == set()
    reused = [t for t in result.trials if "reused" in t.user_attrs]
    assert reused, "the same seed samples the same networks: some must be reused"
    for t in reused:
        assert t.user_attrs["state"] == "complete"
        assert t.user_attrs["reused"].startswith(f"{tmp_path / 'a'} trial ")
        assert t.user_attrs["key"] in first.calls
    finished = {e.number: e for e in events if isinstance(e, TrialFinished)}
    assert all(finished[t.number].reason.startswith("reused: ") for t in reused)


def test_another_seed_does_not_reuse(tmp_path: Path) -> None:
    _synthesize(tmp_path / "a", Counting(), tmp_path / "cache")
    result = _synthesize(tmp_path / "b", Counting(), tmp_path / "cache", seed=1)
    assert [t.number for t in result.trials if "reused" in t.user_attrs] == []


def test_without_a_cache_every_run_measures(tmp_path: Path) -> None:
    first, second = Counting(), Counting()
    _synthesize(tmp_path / "a", first, None)
    _synthesize(tmp_path / "b", second, None)
    assert second.calls == first.calls


def test_an_evaluator_that_does_not_describe_itself_is_not_cached(tmp_path: Path) -> None:
    class Anonymous(Evaluator):
        def evaluate(self, arch: Any, report: Report) -> Measurement:
            return Counting().evaluate(arch, report)

    with pytest.warns(CacheWarning, match="does not describe its settings"):
        _synthesize(tmp_path / "a", Anonymous(), tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


OTHER = """
network other {
  input 1x8x8
  classes 10
  stem { conv(out=8) bn relu }
  modules { blk(out=[8, 12]) }
  head { gap linear(out=classes) }
}
module blk(out): seq { conv(out=out, kernel=[3, 5]) bn relu }
"""


def test_warm_start_queues_the_earlier_family_and_best_first(tmp_path: Path) -> None:
    first = _synthesize(tmp_path / "a", Counting(), None)
    events: list[Any] = []
    result = genesynth.synthesize(
        genesynth.parse_prototype(TINY), RULE, data="digits", trials=6, family_size=2,
        out=tmp_path / "b", seed=5, evaluator=Counting(), warm_start=[tmp_path / "a"],
        listeners=[events.append],
    )
    members = [m.key for m in first.family]
    keys = {t.user_attrs["key"] for t in first.trials if t.user_attrs.get("state") == "complete"}
    said = [e for e in events if isinstance(e, WarmStarted)]
    assert len(said) == 1 and said[0].fitted == said[0].offered == len(keys)
    assert said[0].message == (f"warm start: {len(keys)} of {len(keys)} earlier architectures "
                               f"fit this prototype's space ({tmp_path / 'a'}: "
                               f"{len(keys)} of {len(keys)})")
    second = result.trials
    assert [t.user_attrs["key"] for t in second[:len(members)]] == members
    assert {t.user_attrs["key"] for t in second[:len(keys)]} == keys
    assert second[0].user_attrs["warm_start"] == f"{tmp_path / 'a'} trial {first.family[0].trial}"


def test_warm_start_from_another_prototype_family_says_none_fit_and_runs(tmp_path: Path) -> None:
    _synthesize(tmp_path / "a", Counting(), None)
    events: list[Any] = []
    result = genesynth.synthesize(
        genesynth.parse_prototype(OTHER), RULE, data="digits", trials=3, family_size=1,
        out=tmp_path / "b", evaluator=Counting(), warm_start=[tmp_path / "a"],
        listeners=[events.append],
    )
    said = [e for e in events if isinstance(e, WarmStarted)]
    assert said[0].fitted == 0 and said[0].offered > 0
    assert said[0].message.endswith("; none fits: the earlier runs searched another prototype "
                                    "family. Running without them")
    assert len(result.trials) == 3


def test_warm_start_from_a_directory_without_a_run_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(genesynth.GenesynthError, match="is not a run directory"):
        genesynth.synthesize(genesynth.parse_prototype(TINY), RULE, data="digits", trials=2,
                             out=tmp_path / "b", evaluator=Counting(), warm_start=[tmp_path])
    assert not (tmp_path / "b").exists()
