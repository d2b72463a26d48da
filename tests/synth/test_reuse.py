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
        # where genesynth found it, never what the entry says of itself
        assert t.user_attrs["reused"].startswith(f"evaluation cache {tmp_path / 'cache'}/search/")
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


class Retraining(Counting):
    """Counting, with a retraining that returns weights and a test top-1 its weights score."""

    def retrain(self, arch: Any, report: Report, searched: Measurement | None = None
                ) -> tuple[Measurement, Any]:
        import torch

        self.calls["retrain " + arch.key] += 1
        torch.manual_seed(0)
        state = genesynth.build(arch).state_dict()
        c = genesynth.cost(arch)
        return Measurement(self.test_accuracy(arch, state) or 0.0, c.params, c.macs), state

    def test_accuracy(self, arch: Any, state: Any) -> float | None:
        total = sum(float(v.double().sum()) for _, v in sorted(state.items()))
        return round(40.0 + abs(total) % 50, 2)  # a function of the weights


def test_a_reused_member_is_marked_and_a_lying_entry_is_refused(
    tmp_path: Path
) -> None:
    """Issue 25: a crafted retraining entry claiming 99.9 % was printed as `member A done ...
    test acc 99.90% feasible` without saying it was reused; those weights score far less."""
    import io
    import json

    from genesynth.dashboard.plain import PlainLog
    from genesynth.record.family import read_family
    from genesynth.report.markdown import write_report

    first = Retraining()
    made = _synthesize(tmp_path / "a", first, tmp_path / "cache").family
    stream = io.StringIO()
    log = PlainLog(stream)
    again = genesynth.synthesize(
        genesynth.parse_prototype(TINY), RULE, data="digits", trials=6, family_size=2,
        out=tmp_path / "b", seed=0, evaluator=Retraining(), cache=tmp_path / "cache",
        listeners=[log])
    assert [m.accuracy for m in again.family] == [m.accuracy for m in made]
    members = read_family(tmp_path / "b") or []
    assert members and all((m.reused or "").startswith(
        f"evaluation cache {tmp_path / 'cache'}/retrain/") for m in members)
    out = stream.getvalue()
    done = [line for line in out.splitlines() if line.startswith("member ")]
    assert sum(line.endswith("(reused: evaluation cache)") for line in done) == len(members)
    report = write_report(tmp_path / "b")[0].read_text()
    assert f"**A** (trial {members[0].trial}), reused" in report
    assert "A was reused, not retrained: evaluation cache" in report

    for entry in (tmp_path / "cache" / "retrain").rglob("*.json"):  # forged: 99.9 %
        data = json.loads(entry.read_text())
        data["measurement"]["accuracy"] = 99.9
        entry.write_text(json.dumps(data))
    third = Retraining()
    with pytest.warns(CacheWarning, match=r"it claims test top-1 99.90% but its weights score"):
        result = _synthesize(tmp_path / "c", third, tmp_path / "cache")
    assert [m.accuracy for m in result.family] == [m.accuracy for m in made]
    assert all(m.reused is None for m in result.family)
    assert sum(n for k, n in third.calls.items() if k.startswith("retrain ")) == len(made)
