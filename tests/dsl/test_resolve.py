from __future__ import annotations

import pytest

from genesynth import parse_prototype
from genesynth.errors import PrototypeError
from genesynth.net.arch import LayerSpec

NET = """network n {{
  input 3x8x8
  classes 4
  divisor 8
  stem {{ {stem} }}
  modules {{ {slots} }}
  head {{ gap linear(out=classes) }}
}}
{templates}"""


def proto(stem: str = "conv(out=8) bn relu", slots: str = "", templates: str = ""):  # type: ignore[no-untyped-def]
    return parse_prototype(NET.format(stem=stem, slots=slots, templates=templates), "n.gs")


def test_bias_off_before_bn_and_channels_rounded() -> None:
    arch = proto(stem="conv(out=in * 5) bn pwconv(out=12) relu").sample()
    assert arch.stem == (
        LayerSpec.of("conv", out=16, kernel=3, stride=1, groups=1, padding=1, bias=False),
        LayerSpec.of("bn"),
        LayerSpec.of("conv", out=12, kernel=1, stride=1, groups=1, padding=0, bias=True),
        LayerSpec.of("relu"),
    )


def test_residual_shortcuts_settle() -> None:
    tpl = "module r(out, sc=auto): residual(shortcut=sc) { conv(out=out) bn }"
    arch = proto(slots="r(out=8) r(out=16) r(out=16, sc=match) r(out=8, sc=match) "
                 "r(out=8, sc=project) r(out=8, sc=none)", templates=tpl).sample()
    assert [m.shortcut for m in arch.modules] == [
        "identity", "project", "identity", "none", "project", "none"]


def test_skipped_slot_projects_when_the_shape_changes() -> None:
    tpl = "module r(out, stride=1) { conv(out=out, stride=stride) }"
    p = proto(slots="(r(out=16, stride=2) | skip) (r(out=16) | skip)", templates=tpl)
    arch = p.sample(chooser=_Fixed({"m01": 1, "m02": 1}))
    first, second = arch.modules
    assert first.label == "skip" and first.branches[0][0] == LayerSpec.of(
        "conv", out=16, kernel=1, stride=2, groups=1, padding=0, bias=False)
    assert second.is_empty


def test_mbconv_expands_to_an_inverted_residual() -> None:
    tpl = "module ir(out): mbconv(out=out, expand=2, se=0.25, act=hswish) { }"
    (m,) = proto(slots="ir(out=8)", templates=tpl).sample().modules
    assert [x.kind for x in m.layers] == [
        "conv", "bn", "hswish", "conv", "bn", "hswish", "se", "conv", "bn"]
    # the squeeze is computed (16 * 0.25), so the divisor (8) rounds it as MobileNetV3 does
    assert m.shortcut == "identity" and m.layers[0]["out"] == 16 and m.layers[6]["mid"] == 8
    assert m.layers[6]["gate"] == "sigmoid"


def test_tied_choice_is_one_choice() -> None:
    p = proto(stem="conv(out=8, kernel=[3, 5] as k) conv(out=8, kernel=[3, 5] as k)")
    assert [c.name for c in p.choices()] == ["k"] and p.space_size == 2
    for seed in range(5):
        a = p.sample(seed)
        assert a.stem[0]["kernel"] == a.stem[1]["kernel"]


def test_integer_settings_must_come_out_whole() -> None:
    with pytest.raises(PrototypeError) as info:
        proto(stem="conv(out=8, kernel=in / 2)")
    assert info.value.message == "this must come out whole, but gives 1.5"


@pytest.mark.parametrize(("text", "message"), [
    ("network a { classes 2 }", "the network needs 'input CxHxW'"),
    ("network a { input 1x1x1 }", "the network needs 'classes N'"),
    ("network a { input 1x1x1 classes 0 }", "'classes' must be >= 1, but got classes=0"),
    ("network a { input 0x1x1 classes 1 }", "'input' must be positive, but got input=0x1x1"),
    ("", "the file has no 'network' block"),
    ("network a { input 1x1x1 input 1x1x1 }", "'input' is given twice"),
])
def test_network_settings(text: str, message: str) -> None:
    with pytest.raises(PrototypeError) as info:
        parse_prototype(text)
    assert info.value.message == message


def test_overrides_replace_input_and_classes() -> None:
    p = proto().with_overrides(input_shape=(1, 4, 4), classes=3)
    assert (p.input_shape, p.classes) == ((1, 4, 4), 3)
    assert p.sample().head[-1]["out"] == 3


class _Fixed:
    def __init__(self, values: dict[str, int]) -> None:
        self.values = values

    def categorical(self, name: str, options: list[object]) -> object:
        return self.values.get(name, options[0])

    def integer(self, name: str, low: int, high: int, step: int) -> int:
        return low
