"""Absurd input to the prototype language ends in one located error, never a traceback.

Each case is a class the input probe of issue 14 found (a traceback or a hang before).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from genesynth import load_prototype, parse_prototype
from genesynth.errors import GenesynthError, PrototypeError, PrototypeSyntaxError, ShapeError
from genesynth.limits import MAX_DEPTH, MAX_MODULES, MAX_NUMBER

NET = """network n {{
  input 3x8x8
  classes 4
  stem {{ {stem} }}
  modules {{ {slots} }}
  head {{ gap linear(out=classes) }}
}}
{templates}"""


def net(stem: str = "conv(out=8)", slots: str = "", templates: str = "") -> str:
    return NET.format(stem=stem, slots=slots, templates=templates)


def first_line(text: str, error: type[GenesynthError] = GenesynthError) -> str:
    with pytest.raises(error) as info:
        parse_prototype(text, "net.gs")
    return str(info.value).splitlines()[0]


@pytest.mark.parametrize(("stem", "number", "shown"), [
    (f"conv(out=8, stride={2**64})", str(2**64), str(2**64)),
    (f"conv(out=8, kernel={2**31})", str(2**31), str(2**31)),
    (f"conv(out={10**30})", str(10**30), "100000000000... (31 digits)"),
    ("conv(out=" + "1" * 5000 + ")", "1" * 5000, "111111111111... (5000 digits)"),
    ("conv(out=" + "1" * 400 + ".5 * 2)", "1" * 400, "111111111111... (400 digits)"),
    (f"conv(out=[8, 16, {2**40}])", str(2**40), str(2**40)),
    (f"conv(out=8..{10**21})", str(10**21), "100000000000... (22 digits)"),
])
def test_a_number_torch_cannot_take_is_refused_where_it_is_written(
    stem: str, number: str, shown: str
) -> None:
    column = len("  stem { ") + stem.index(number) + 1
    assert first_line(net(stem), PrototypeError) == (
        f"net.gs:4:{column}: number too large: at most {MAX_NUMBER}, but got {shown}")


def test_a_huge_input_shape_or_class_count_is_refused() -> None:
    text = net().replace("3x8x8", f"3x{2**40}x8")
    assert first_line(text) == (
        f"net.gs:2:9: number too large: at most {MAX_NUMBER}, but got {2**40}")
    text = net().replace("classes 4", "classes " + "9" * 4400)
    assert first_line(text) == (
        f"net.gs:3:11: number too large: at most {MAX_NUMBER}, but got 999999999999... "
        "(4400 digits)")


def test_arithmetic_that_grows_too_large_is_a_located_shape_error() -> None:
    growth = " * 2147483647" * 3
    text = net(f"conv(out=8) conv(out=in{growth})")
    assert first_line(text, ShapeError) == (
        "net.gs:4:31: this comes out too large (1.38e+19); a setting is at most 1e+18")


def test_a_computed_setting_past_the_limit_is_a_located_shape_error() -> None:
    text = net("conv(out=8) conv(out=in * 1000000000)")  # 'in' is the stem's input: 3
    assert first_line(text, ShapeError) == (
        f"net.gs:4:27: 'out' must be at most {MAX_NUMBER}, but got out=3000000000")


@pytest.mark.parametrize(("depth", "error"), [(MAX_DEPTH, None), (245, "too deep")])
def test_deeply_nested_groups_stop_at_the_depth_limit(depth: int, error: str | None) -> None:
    text = net("(" * depth + "relu" + ")" * depth)
    if error is None:
        assert parse_prototype(text).name == "n"
        return
    message = first_line(text, PrototypeSyntaxError)
    assert message.startswith("net.gs:4:")
    assert message.endswith(
        f"nested too deeply: groups, lists and arithmetic nest at most {MAX_DEPTH} deep")


def test_lists_nested_500_deep_stop_at_the_depth_limit() -> None:
    """Issue 25: list brackets did not count towards the depth limit (a RecursionError)."""
    text = net("conv(out=" + "[" * 500 + "8" + "]" * 500 + ")")
    message = first_line(text, PrototypeSyntaxError)
    assert message == (f"net.gs:4:{text.splitlines()[3].index('[') + 1 + MAX_DEPTH}: nested "
                       f"too deeply: groups, lists and arithmetic nest at most {MAX_DEPTH} deep")


@pytest.mark.parametrize("opening", ["(", "["])
def test_brackets_100000_deep_are_refused_before_parsing(opening: str) -> None:
    """Issue 25's probe: 100,000 nested brackets took seconds to parse before being refused."""
    closing = {"(": ")", "[": "]"}[opening]
    text = net("conv(out=" + opening * 100_000 + "8" + closing * 100_000 + ")")
    started = time.perf_counter()
    message = first_line(text, PrototypeSyntaxError)
    assert time.perf_counter() - started < 2
    line = text.splitlines()[3]
    column = int(message.split(":")[2])
    assert message == f"net.gs:4:{column}: nested too deeply: brackets nest at most 1000 deep"
    assert line[:column - 1].count(opening) > 990 and line[column - 1] == opening


def test_a_prototype_longer_than_256_kib_is_refused_before_parsing() -> None:
    text = net("conv(out=8" + " + 0" * 70_000 + ")")
    assert first_line(text, PrototypeSyntaxError) == (
        f"net.gs:1:1: the prototype has {len(text):,} characters; at most 262,144 are read "
        "(the largest shipped prototype has 14,196)")


def test_a_long_arithmetic_chain_stops_at_the_depth_limit() -> None:
    text = net("conv(out=8" + " + 0" * 489 + ")")
    message = first_line(text, PrototypeSyntaxError)
    assert message.startswith("net.gs:4:") and "nested too deeply" in message


def test_grouped_expressions_nest_freely_as_they_add_no_depth() -> None:
    text = net("conv(out=" + "(" * 245 + "8" + ")" * 245 + ")")
    assert parse_prototype(text).sample().stem[0]["out"] == 8


def test_a_word_where_mbconv_wants_a_number() -> None:
    text = net(slots="b", templates="module b: mbconv(out=8, expand=foo) { }")
    assert first_line(text, PrototypeError) == (
        "net.gs:8:32: 'expand' must be a number, but got expand=foo")


def test_a_word_reaching_mbconv_through_a_parameter_is_a_located_error() -> None:
    text = net(slots="b(e=foo)", templates="module b(e): mbconv(out=8, expand=e) { }")
    assert first_line(text, ShapeError) == (
        "net.gs:8:28: 'expand' must be a number, but got expand=foo")


def test_a_numeric_shortcut_choice() -> None:
    text = net(slots="b", templates="module b: residual(shortcut=[1, project]) { relu }")
    assert first_line(text, PrototypeError) == (
        "net.gs:8:30: 'shortcut' must be one of auto, identity, project, match, none, "
        "but got shortcut=1")


def test_a_repeat_past_the_module_limit_is_refused_at_once() -> None:
    start = time.perf_counter()
    text = net(slots="relu_m * 4 relu_m * 100000", templates="module relu_m { relu }")
    assert first_line(text, PrototypeError) == (
        f"net.gs:5:24: a network has at most {MAX_MODULES} module slots, but this one "
        "reaches 100004")
    huge = net(slots=f"relu_m * {10**30}", templates="module relu_m { relu }")
    assert "number too large" in first_line(huge, PrototypeError)
    assert time.perf_counter() - start < 5


def test_the_module_limit_itself_is_allowed() -> None:
    text = net(slots=f"relu_m * {MAX_MODULES}", templates="module relu_m { relu }")
    assert len(parse_prototype(text).sample().modules) == MAX_MODULES


@pytest.mark.parametrize(("raw", "where"), [
    (b"network \xff {}", "1:9: the prototype is not UTF-8 text (byte 0xff)"),
    (b"# caf\xe9\nnetwork n {}", "1:6: the prototype is not UTF-8 text (byte 0xe9)"),
    (b"network n {\n  input 3x8x8\n\x80}", "3:1: the prototype is not UTF-8 text (byte 0x80)"),
])
def test_a_prototype_that_is_not_utf8(tmp_path: Path, raw: bytes, where: str) -> None:
    path = tmp_path / "net.gs"
    path.write_bytes(raw)
    with pytest.raises(GenesynthError) as info:
        load_prototype(path)
    assert str(info.value) == f"{path}:{where}"


def test_many_ties_each_used_once_are_counted_at_once() -> None:
    start = time.perf_counter()
    stem = " ".join(f"(relu | bn) as t{i}" for i in range(40))
    assert parse_prototype(net(f"conv(out=8) {stem}")).space_size == 2**40
    assert time.perf_counter() - start < 5  # 16 such ties took 9 s, 40 would never end


def test_too_many_shared_ties_are_a_located_error_not_a_hang() -> None:
    start = time.perf_counter()
    stem = " ".join(f"(relu | bn) as t{i} (relu | bn) as t{i}" for i in range(12))
    assert parse_prototype(net(f"conv(out=8) {stem}")).space_size == 2**12
    stem = " ".join(f"(relu | bn) as t{i} (relu | bn) as t{i}" for i in range(40))
    message = first_line(net(f"conv(out=8) {stem}"), PrototypeError)
    column = len("  stem { conv(out=8) ") + len(" ".join(
        f"(relu | bn) as t{i} (relu | bn) as t{i}" for i in range(12))) + 2
    assert message == (f"net.gs:4:{column}: too many tied choices to count the space: more "
                       "than 4,096 combinations of shared ties")
    assert time.perf_counter() - start < 10
