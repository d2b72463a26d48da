from __future__ import annotations

from genesynth.space.instantiate import make_divisible


def test_make_divisible_follows_mobilenet() -> None:
    assert [make_divisible(v, 8) for v in (3, 12, 13.5, 20, 30, 100)] == [8, 16, 16, 24, 32, 104]
    assert make_divisible(10.4, 1) == 10
