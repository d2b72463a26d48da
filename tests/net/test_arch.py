from __future__ import annotations

import json
import time
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genesynth import Architecture, Prototype, load_prototype, parse_prototype
from genesynth.dsl.writer import architecture_to_text
from genesynth.errors import ArchitectureError
from genesynth.net.arch import LayerSpec, ModuleSpec

PROTOTYPES = sorted(p.stem for p in Path("prototypes").glob("*.gs"))


@cache
def proto(name: str) -> Prototype:
    return load_prototype(f"prototypes/{name}.gs")


def test_every_prototype_is_shipped() -> None:
    assert PROTOTYPES == ["attonet16", "mnasnet_a1", "mnasnet_space", "mobilenetv1",
                          "mobilenetv2", "mobilenetv2_space", "mobilenetv3_large",
                          "mobilenetv3_small", "mobilenetv3_space", "nasbench_macro", "resnet18",
                          "shufflenetv2"]


@pytest.mark.parametrize("name", PROTOTYPES)
@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**31))
def test_json_and_text_round_trip(name: str, seed: int) -> None:
    arch = proto(name).sample(seed)
    assert Architecture.from_json(arch.to_json()) == arch
    again = parse_prototype(architecture_to_text(arch), "written.gs").sample()
    assert again == arch and again.key == arch.key


def test_hash_equal_for_the_same_network_different_otherwise() -> None:
    p = proto("mobilenetv2_space")
    a = p.sample(0)
    renamed = Architecture("other", a.input_shape, a.classes, a.stem,
                           tuple(ModuleSpec("x", m.kind, m.branches, m.shortcut, m.post)
                                 for m in a.modules) + (ModuleSpec("skip", "seq", ((),)),),
                           a.head)
    assert renamed != a and renamed.key == a.key
    keys = {p.sample(seed).key for seed in range(20)}
    archs = {p.sample(seed) for seed in range(20)}
    assert len(keys) == len(archs) == 20
    wider = Architecture(a.name, a.input_shape, a.classes,
                         (LayerSpec.of("conv", out=40, kernel=3, stride=2, groups=1, padding=1,
                                       bias=False),) + a.stem[1:], a.modules, a.head)
    assert wider.key != a.key


# -- absurd JSON (issue 14) ----------------------------------------------------------------------


def _arch_json(**changes: object) -> dict[str, object]:
    data = load_prototype("prototypes/resnet18.gs", input_shape=(3, 8, 8), classes=4
                          ).sample().to_dict()
    data.update(changes)
    return data


@pytest.mark.parametrize(("text", "message"), [
    ("[" * 100000 + "]" * 100000, "a.json: not valid JSON: nested too deeply"),
    ('{"format": ' + "1" * 5000 + "}", "a.json: not valid JSON: Exceeds the limit (4300 digits) "
     "for integer string conversion: value has 5000 digits; use sys.set_int_max_str_digits() "
     "to increase the limit"),
    ('{"format": NaN}', "a.json: not valid JSON: NaN is not a number genesynth accepts"),
])
def test_json_too_deep_too_long_or_not_a_number(text: str, message: str) -> None:
    with pytest.raises(ArchitectureError) as info:
        Architecture.from_json(text, "a.json")
    assert str(info.value) == message


def test_json_sizes_torch_cannot_take() -> None:
    with pytest.raises(ArchitectureError) as info:
        Architecture.from_dict(_arch_json(input_shape=[3, 2**40, 8]), "a.json")
    assert str(info.value) == (
        "a.json: $.input_shape: expected 3 integers from 1 to 2147483647, got [3, "
        "1099511627776, 8]")
    with pytest.raises(ArchitectureError) as info:
        Architecture.from_dict(_arch_json(classes=10**3000), "a.json")
    assert str(info.value) == (
        "a.json: $.classes: expected an integer from 1 to 2147483647, got a long integer")
    data = _arch_json()
    data["stem"][0]["out"] = 10**30  # type: ignore[index]
    with pytest.raises(ArchitectureError) as info:
        Architecture.from_dict(data, "a.json")
    assert str(info.value) == (
        "a.json: resnet18: stem: 'out' must be at most 2147483647, but got out=a 31-digit number")


def test_json_with_more_modules_than_a_prototype_may_have() -> None:
    """Issue 25: 100,000 modules took 91 s and 1.27 GB to read; prototypes stop at 1,000."""
    data = _arch_json()
    data["modules"] = [data["modules"][0]] * 20_000  # type: ignore[index]
    text = json.dumps(data)
    started = time.perf_counter()
    with pytest.raises(ArchitectureError) as info:
        Architecture.from_json(text, "a.json")
    assert str(info.value) == "a.json: $.modules: 20,000 modules; a network may have at most 1,000"
    assert time.perf_counter() - started < 10  # refused before any module is read (~18 s)


def test_json_with_a_layer_that_does_not_fit_is_refused_when_read() -> None:
    data = _arch_json()
    data["stem"][0]["kind"] = "cnov"  # type: ignore[index]
    with pytest.raises(ArchitectureError) as info:
        Architecture.from_dict(data, "a.json")
    assert str(info.value) == "a.json: resnet18: stem: unknown layer kind 'cnov'"


def test_show_an_architecture_json_missing_a_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from genesynth.cli import main

    data = _arch_json()
    for layer in data["stem"]:  # type: ignore[attr-defined]
        for key in ("kernel", "groups", "stride", "padding"):
            layer.pop(key, None)
    path = tmp_path / "a.json"
    path.write_text(json.dumps(data))
    assert main(["show", str(path)]) == 0
    assert "3x3 64" in capsys.readouterr().out  # the defaults, as the builder takes them


def test_an_architecture_json_that_is_not_utf8(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from genesynth.cli import main

    path = tmp_path / "a.json"
    path.write_bytes(b'{"name": "caf\xe9"}')
    assert main(["show", str(path)]) == 2
    assert capsys.readouterr().err == (
        f"error: {path}:1:14: the architecture is not UTF-8 text (byte 0xe9)\n")
