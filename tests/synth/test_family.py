from __future__ import annotations

from genesynth.arch import Architecture, LayerSpec
from genesynth.synth.family import Candidate, labels, select


def _arch(width: int) -> Architecture:
    stem = (LayerSpec.of("conv", out=width, kernel=3, stride=1, groups=1, padding=1, bias=True),)
    head = (LayerSpec.of("gap"), LayerSpec.of("linear", out=10, bias=True))
    return Architecture("t", (1, 8, 8), 10, stem, (), head)


def _c(trial: int, macs: int, utility: float) -> Candidate:
    return Candidate(trial, _arch(trial + 1), 90.0, macs // 10, macs, utility)


def test_one_member_per_log_band_best_utility_largest_first() -> None:
    found = [
        _c(0, 1_000_000, 50.0), _c(1, 900_000, 60.0),  # top band: trial 1 wins
        _c(2, 200_000, 55.0),  # second band
        _c(3, 40_000, 40.0), _c(4, 35_000, 45.0),  # third band
        _c(5, 10_000, 30.0),  # bottom band
    ]
    chosen = select(found, size=4)
    assert [c.trial for c in chosen] == [1, 2, 4, 5]
    assert [c.macs for c in chosen] == sorted((c.macs for c in chosen), reverse=True)


def test_members_are_clearly_smaller_than_the_one_above() -> None:
    # Two candidates fall in adjacent bands but are only 5 % apart: the second is skipped
    # for the next-best candidate of its band.
    found = [_c(0, 1_000_000, 50.0), _c(1, 950_000, 70.0), _c(2, 100_000, 20.0)]
    chosen = select(found, size=2, min_gap=0.2)
    assert [c.trial for c in chosen] == [1, 2]


def test_fewer_members_when_fewer_distinct_complexities() -> None:
    assert [c.trial for c in select([_c(0, 5_000, 10.0)], size=4)] == [0]
    assert select([], size=4) == []


def test_labels() -> None:
    assert labels(4) == ["A", "B", "C", "D"]
