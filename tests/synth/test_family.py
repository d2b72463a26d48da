"""Family selection: log-MACs bands over the Pareto front, and after retraining no member
beaten or equalled on every measure by another (replaced by its band's next, or dropped)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from genesynth.evaluate.base import Evaluator, Report
from genesynth.events import MemberDone, MemberDropped, MemberRenamed
from genesynth.goal.constraint import Constraint
from genesynth.net.arch import Architecture, LayerSpec
from genesynth.net.measurement import Measurement
from genesynth.synth.family import (
    Candidate,
    alternates,
    front,
    labels,
    read_family,
    retrain_family,
    select,
)


def _arch(width: int) -> Architecture:
    stem = (LayerSpec.of("conv", out=width, kernel=3, stride=1, groups=1, padding=1, bias=True),)
    head = (LayerSpec.of("gap"), LayerSpec.of("linear", out=10, bias=True))
    return Architecture("t", (1, 8, 8), 10, stem, (), head)


def _c(trial: int, macs: int, utility: float, accuracy: float | None = None,
       params: int | None = None) -> Candidate:
    """A candidate; by default more MACs buy more accuracy (every one on the Pareto front)."""
    acc = 80.0 + macs / 100_000 if accuracy is None else accuracy
    return Candidate(trial, _arch(trial + 1), acc, params or macs // 10, macs, utility)


def test_a_is_the_most_accurate_then_the_best_utility_of_each_log_band_below_it() -> None:
    # A: the most accurate (trial 0). Below 80 % of its MACs (800K) down to the smallest
    # (10K), three bands of equal log width: 800K-186K, 186K-43K, 43K-10K.
    found = [
        _c(0, 1_000_000, 50.0), _c(1, 900_000, 60.0),  # trial 1 is better NetScore, less accurate
        _c(2, 200_000, 55.0), _c(6, 150_000, 58.0),  # band 1 (200K), band 2 (150K)
        _c(3, 40_000, 40.0), _c(4, 35_000, 45.0), _c(5, 10_000, 30.0),  # band 3
    ]
    chosen = select(found, size=4)
    assert [c.trial for c in chosen] == [0, 2, 6, 4]
    assert [c.macs for c in chosen] == sorted((c.macs for c in chosen), reverse=True)


def test_the_family_spans_the_range_not_only_below_its_best_utility() -> None:
    # Today's failure: the best NetScore was the smallest network, and the family looked only
    # below it. Now A is the most accurate, and the members spread down to the smallest.
    found = [_c(0, 3_400_000, 80.0, 99.0, 130_000), _c(1, 1_800_000, 84.0, 97.0, 90_000),
             _c(2, 900_000, 88.0, 95.0, 60_000), _c(3, 500_000, 95.0, 93.0, 45_000)]
    assert [c.trial for c in select(found, size=4)] == [0, 1, 2, 3]
    assert [c.trial for c in select(found, size=2)] == [0, 3]


def test_members_are_clearly_smaller_than_the_one_above() -> None:
    # B's band has a candidate only 5 % below A's 80 %-edge... the best of the band that is
    # at most 80 % of A's MACs is taken.
    found = [_c(0, 1_000_000, 50.0), _c(1, 790_000, 70.0), _c(2, 100_000, 20.0)]
    assert [c.trial for c in select(found, size=2, min_gap=0.2)] == [0, 1]
    found = [_c(0, 1_000_000, 50.0), _c(1, 950_000, 70.0), _c(2, 100_000, 20.0)]
    assert [c.trial for c in select(found, size=2, min_gap=0.2)] == [0, 2]


def test_a_place_a_band_leaves_empty_is_filled_by_a_candidate_that_fits_between_members(
        ) -> None:
    # The main job's front (seed 0, before its phase above A): below 80 % of A's 826,624 MACs,
    # bands 661K-525K, 525K-418K, 418K-332K; the middle one is empty, and 415,400 (in the
    # last band, behind 332,296's better utility) fits between 550,912 and 332,296, 20 %
    # from both. Before: a family of three.
    found = [_c(4, 826_624, 89.7, 97.04), _c(28, 550_912, 94.9, 95.93),
             _c(32, 415_400, 97.8, 95.19), _c(43, 332_296, 99.0, 94.44)]
    assert [c.trial for c in select(found, size=4)] == [4, 28, 32, 43]
    assert [c.trial for c in select(found, size=3)] == [4, 28, 43]  # no place left
    # one that is not 20 % from both neighbours never joins
    found[2] = _c(32, 400_000, 97.8, 95.19)  # 332,296 is more than 80 % of it
    assert [c.trial for c in select(found, size=4)] == [4, 28, 43]


def test_fewer_members_when_fewer_distinct_complexities() -> None:
    assert [c.trial for c in select([_c(0, 5_000, 10.0)], size=4)] == [0]
    assert select([], size=4) == []


def test_labels() -> None:
    assert labels(4) == ["A", "B", "C", "D"]


def test_a_candidate_beaten_on_every_measure_is_never_chosen() -> None:
    # The big one has the best utility of its band, but the small one beats it everywhere.
    big = _c(0, 1_000_000, 60.0, accuracy=90.0, params=100_000)
    small = _c(1, 100_000, 55.0, accuracy=95.0, params=10_000)
    assert front([big, small]) == [small]
    assert [c.trial for c in select([big, small], size=2)] == [1]


def test_of_equal_candidates_the_first_trial_stays_on_the_front() -> None:
    one, two = _c(3, 50_000, 40.0, 90.0, 5_000), _c(7, 50_000, 40.0, 90.0, 5_000)
    assert front([two, one]) == [one]


def test_alternates_are_the_rest_of_each_band_best_first() -> None:
    found = [_c(0, 1_000_000, 50.0), _c(1, 900_000, 60.0), _c(2, 850_000, 40.0),
             _c(3, 10_000, 30.0), _c(4, 12_000, 35.0)]
    chosen = select(found, size=2)
    assert [c.trial for c in chosen] == [0, 4]
    assert [[c.trial for c in band] for band in alternates(found, chosen, 2)] == [[1, 2], [3]]


def test_a_member_is_never_its_own_alternate_even_as_another_object() -> None:
    # The engine selects from one read of the study and computes the spares from another:
    # equal candidates, different objects. Today member A's spare was trial A itself.
    found = [_c(0, 1_000_000, 50.0), _c(1, 900_000, 60.0), _c(3, 10_000, 30.0)]
    again = [_c(0, 1_000_000, 50.0), _c(1, 900_000, 60.0), _c(3, 10_000, 30.0)]
    chosen = select(found, size=2)
    assert [[c.trial for c in band] for band in alternates(again, chosen, 2)] == [[1], []]


class TestTop1(Evaluator):
    """Retraining gives each architecture the test top-1 of a table (width -> top-1)."""

    __test__ = False  # not a pytest class

    def __init__(self, table: dict[int, float]) -> None:
        self.table = table
        self.retrained: list[int] = []

    def evaluate(self, arch: Any, report: Report) -> Measurement:
        raise AssertionError("the family is retrained, not evaluated")

    def retrain(self, arch: Any, report: Report, searched: Measurement | None = None
                ) -> tuple[Measurement, None]:
        width = int(arch.stem[0]["out"])
        self.retrained.append(width)
        return Measurement(self.table[width], 0, 0), None


RULE = Constraint(min_accuracy=50.0)


def _family(tmp_path: Path, chosen: list[Candidate], spares: list[list[Candidate]],
            table: dict[int, float]) -> tuple[list[Any], list[Any], TestTop1]:
    events: list[Any] = []
    evaluator = TestTop1(table)
    members = retrain_family(chosen, spares, evaluator, RULE, tmp_path, events.append, 1)
    return members, events, evaluator


def test_a_member_dominated_after_retraining_is_replaced_by_the_next_of_its_band(
    tmp_path: Path,
) -> None:
    a, b, c = _c(0, 1_000_000, 60.0), _c(1, 500_000, 55.0), _c(2, 100_000, 50.0)
    b2 = _c(3, 400_000, 54.0)
    # On test, B (width 2) falls below C (width 3): C beats it on every measure.
    members, events, evaluator = _family(tmp_path, [a, b, c], [[], [b2], []],
                                         {1: 97.0, 2: 90.0, 3: 92.0, 4: 95.0})
    assert evaluator.retrained == [1, 2, 3, 4]
    assert [(m.label, m.trial, m.accuracy) for m in members] == [
        ("A", 0, 97.0), ("B", 3, 95.0), ("C", 2, 92.0)]
    dropped = [e for e in events if isinstance(e, MemberDropped)]
    assert [(e.label, e.trial, e.by, e.replacement) for e in dropped] == [("B", 1, "C", 3)]
    assert dropped[0].reason == ("C has top-1 92.00% >= 90.00%, params 10,000 <= 50,000, "
                                 "MACs 100,000 <= 500,000")
    stored = json.loads((tmp_path / "family.json").read_text())
    assert [(m["label"], m["trial"]) for m in stored["members"]] == [
        ("A", 0), ("B", 3), ("C", 2)]
    assert stored["dropped"] == [{"trial": 1, "by_trial": 2, "reason": dropped[0].reason,
                                  "replaced_by": 3}]


def test_a_dominated_member_without_a_replacement_is_dropped_and_the_rest_move_up(
    tmp_path: Path,
) -> None:
    a, b, c, d = (_c(0, 1_000_000, 60.0), _c(1, 500_000, 55.0), _c(2, 100_000, 50.0),
                  _c(3, 10_000, 40.0))
    members, events, _ = _family(tmp_path, [a, b, c, d], [[], [], [], []],
                                 {1: 97.0, 2: 90.0, 3: 92.0, 4: 85.0})
    assert [(m.label, m.trial) for m in members] == [("A", 0), ("B", 2), ("C", 3)]
    renamed = [(e.label, e.new, e.trial) for e in events if isinstance(e, MemberRenamed)]
    assert renamed == [("C", "B", 2), ("D", "C", 3)]
    assert [e.label for e in events if isinstance(e, MemberDone)] == ["A", "B", "C", "D"]
    assert sorted(p.name for p in (tmp_path / "family").iterdir()) == ["A", "B", "C"]
    assert (tmp_path / "family" / "B" / "arch.json").read_text() == c.arch.to_json() + "\n"
    assert read_family(tmp_path) == members
    stored = json.loads((tmp_path / "family.json").read_text())
    assert [(d["trial"], d["by_trial"], d["replaced_by"]) for d in stored["dropped"]] == [
        (1, 2, None)]
    for i, m in enumerate(members):
        assert not any(o.accuracy >= m.accuracy and o.params <= m.params and o.macs <= m.macs
                       for j, o in enumerate(members) if j != i)


def test_a_family_without_domination_is_kept_as_chosen(tmp_path: Path) -> None:
    a, b = _c(0, 1_000_000, 60.0), _c(1, 100_000, 50.0)
    members, events, evaluator = _family(tmp_path, [a, b], [[], []], {1: 97.0, 2: 92.0})
    assert [(m.label, m.trial) for m in members] == [("A", 0), ("B", 1)]
    assert not [e for e in events if isinstance(e, MemberDropped | MemberRenamed)]
    assert evaluator.retrained == [1, 2]
    assert "dropped" not in json.loads((tmp_path / "family.json").read_text())


def test_a_dominated_members_replacement_is_never_the_same_trial(tmp_path: Path) -> None:
    # Today: "member B (trial 1) is dominated ...; retraining trial 1 of its band instead".
    a, b, c = _c(0, 1_000_000, 60.0), _c(1, 500_000, 55.0), _c(2, 100_000, 50.0)
    b_again, b2 = _c(1, 500_000, 55.0), _c(3, 400_000, 54.0)
    members, events, evaluator = _family(tmp_path, [a, b, c], [[], [b_again, c, b2], []],
                                         {1: 97.0, 2: 90.0, 3: 92.0, 4: 95.0})
    assert evaluator.retrained == [1, 2, 3, 4]
    assert [e.replacement for e in events if isinstance(e, MemberDropped)] == [3]
    assert [m.trial for m in members] == [0, 3, 2]
