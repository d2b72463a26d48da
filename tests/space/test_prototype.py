from __future__ import annotations

import pytest

from genesynth import FixedChooser, RandomChooser, load_prototype, parse_prototype
from genesynth.errors import GenesynthError, ShapeError

TINY = """network tiny {
  input 1x8x8
  classes 10
  divisor 8
  stem { conv(out=16) bn relu }
  modules {
    block(out=32, stride=2)
    block(out=[32, 64]) * 2
    block(out=64)?
  }
  head { gap linear(out=classes) softmax }
}
module block(out, stride=1): residual(shortcut=auto) {
  pwconv(out=in * [0.5, 1.0]) bn relu
  conv(kernel=[3, 5], stride=stride, groups=[1, 2]) bn relu
  pwconv(out=out) bn
} then { relu }
"""


def test_choices_and_space_size() -> None:
    p = parse_prototype(TINY)
    names = [c.name for c in p.choices()]
    assert names[:4] == ["m01.0.out", "m01.3.kernel", "m01.3.groups", "m02.out"]
    assert names[-4:] == ["m04", "m04.0.out", "m04.3.kernel", "m04.3.groups"]
    assert p.space_size == 8 * 16 * 16 * (8 + 1) and not p.is_fixed
    m04 = next(c for c in p.choices() if c.name == "m04")
    assert (m04.kind, m04.options) == ("categorical", (0, 1))


def test_recorded_choices_replay_and_names_are_listed() -> None:
    p = parse_prototype(TINY)
    listed = {c.name for c in p.choices()}
    for seed in range(10):
        arch, values = p.sample_with_choices(seed)
        assert set(values) <= listed
        assert p.sample(chooser=FixedChooser(values)) == arch
        assert p.sample(seed) == arch


def test_fixed_chooser_refuses_missing_and_foreign_values() -> None:
    p = parse_prototype(TINY)
    with pytest.raises(GenesynthError, match="no value recorded for the choice 'm01.0.out'"):
        p.sample(chooser=FixedChooser({}))
    _, values = p.sample_with_choices(0)
    with pytest.raises(GenesynthError, match="is not one of"):
        p.sample(chooser=FixedChooser({**values, "m01.3.kernel": 4}))


def test_integer_ranges_and_random_chooser() -> None:
    p = parse_prototype(TINY.replace("conv(out=16)", "conv(out=8..24 step 8)"))
    assert {p.sample(seed).stem[0]["out"] for seed in range(30)} == {8, 16, 24}
    assert RandomChooser(1).integer("x", 3, 9, 3) in (3, 6, 9)
    info = p.choices()[0]
    assert (info.name, info.kind, info.low, info.high, info.step) == ("stem.0.out", "int", 8, 24, 8)


def test_space_size_ignores_unchosen_and_counts_ties_once() -> None:
    text = TINY.replace("conv(out=16) bn relu",
                        "(conv(out=16, kernel=[3, 5, 7]) | pwconv(out=16) | skip) bn relu "
                        "conv(kernel=[3, 5] as k) conv(kernel=[3, 5] as k)")
    assert parse_prototype(text).space_size == (3 + 1 + 1) * 2 * 8 * 16 * 16 * 9


def test_impossible_shapes_are_errors_at_load_and_sampling() -> None:
    bad = TINY.replace("groups=[1, 2]", "groups=[3, 5]")
    with pytest.raises(ShapeError, match="groups=3 must divide"):
        parse_prototype(bad)
    some = parse_prototype(TINY.replace("groups=[1, 2]", "groups=[1, 3]"))
    outcomes = set()
    for seed in range(20):
        try:
            some.sample(seed)
            outcomes.add("ok")
        except ShapeError as error:
            assert error.span.line == 15
            outcomes.add("bad")
    assert outcomes == {"ok", "bad"}


def test_cost_range_exact_by_enumeration_and_per_part() -> None:
    small = parse_prototype(TINY.replace("block(out=[32, 64]) * 2", ""))
    bounds = small.cost_range()
    assert bounds.exact and bounds.min_params < bounds.max_params
    costs = set()
    from genesynth.net.costs import cost
    for seed in range(60):
        c = cost(small.sample(seed))
        costs.add((c.params, c.macs))
    assert min(c[0] for c in costs) >= bounds.min_params
    assert max(c[1] for c in costs) <= bounds.max_macs
    space = load_prototype("prototypes/mobilenetv2_space.gs", input_shape=(1, 8, 8))
    assert space.cost_range().exact


def test_cost_range_estimated_for_attonet() -> None:
    bounds = load_prototype("prototypes/attonet16.gs", input_shape=(1, 8, 8)).cost_range()
    assert not bounds.exact
    assert 500_000 <= bounds.min_macs < bounds.max_macs <= 30_000_000


def test_parsing_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = ("import sys, genesynth; genesynth.load_prototype('prototypes/attonet16.gs')"
            ".sample(0); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_overrides_retarget_the_checked_prototype_as_parsing_at_that_shape_would() -> None:
    proto = parse_prototype(TINY)
    moved = proto.with_overrides(input_shape=(3, 16, 16), classes=5)
    again = parse_prototype(TINY, input_shape=(3, 16, 16), classes=5)
    assert (moved.input_shape, moved.classes) == ((3, 16, 16), 5)
    assert moved.choices() == again.choices() and moved.space_size == again.space_size
    assert [moved.sample(seed) for seed in range(5)] == [again.sample(seed) for seed in range(5)]
    assert proto.with_overrides(input_shape=(1, 8, 8), classes=10) is proto
    with pytest.raises(GenesynthError) as error:
        proto.with_overrides(classes=0)
    assert str(error.value) == "`classes` must be a whole number from 1 to 2147483647, but got " \
                               "classes=0"


def test_the_descent_finds_the_smallest_network_of_a_small_space_and_stops_when_asked() -> None:
    import itertools

    import genesynth
    from tests.synth.test_engine import TINY

    proto = parse_prototype(TINY)
    exact = proto.cost_range()
    choices = proto.choices()
    every = {genesynth.cost(proto.sample(chooser=FixedChooser(dict(zip(
        [c.name for c in choices], combo, strict=True))))).macs
        for combo in itertools.product(*(c.options for c in choices))}
    assert exact.exact and min(every) == exact.min_macs
    values = {c.name: c.options[-1] for c in choices}  # the last option of each choice
    start = genesynth.cost(proto.sample(chooser=FixedChooser(values))).macs
    assert start > exact.min_macs
    # one choice at a time from there reaches the smallest network of this space
    smallest = proto.fewer_macs(values)
    assert smallest is not None and smallest[0] == exact.min_macs
    assert genesynth.cost(proto.sample(chooser=FixedChooser(smallest[1]))).macs == smallest[0]
    # asked for a network of at most `below` MACs, it stops at the first it finds
    below = sorted(every)[-2]
    found = proto.fewer_macs(values, below)
    assert found is not None and found[0] in every and exact.min_macs < found[0] <= below
