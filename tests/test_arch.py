from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genesynth import Architecture, Prototype, load_prototype, parse_prototype
from genesynth.arch import LayerSpec, ModuleSpec

PROTOTYPES = sorted(p.stem for p in Path("prototypes").glob("*.gs"))


@cache
def proto(name: str) -> Prototype:
    return load_prototype(f"prototypes/{name}.gs")


def test_every_prototype_is_shipped() -> None:
    assert PROTOTYPES == ["attonet16", "mobilenetv1", "mobilenetv2", "mobilenetv2_space",
                          "resnet18", "shufflenetv2"]


@pytest.mark.parametrize("name", PROTOTYPES)
@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**31))
def test_json_and_text_round_trip(name: str, seed: int) -> None:
    arch = proto(name).sample(seed)
    assert Architecture.from_json(arch.to_json()) == arch
    again = parse_prototype(arch.to_text(), "written.gs").sample()
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
