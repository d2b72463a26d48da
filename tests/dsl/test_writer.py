from __future__ import annotations

from genesynth import load_prototype, parse_prototype
from genesynth.dsl.writer import architecture_to_text
from genesynth.net.arch import Architecture, LayerSpec, ModuleSpec


def test_text_lists_every_setting_and_reparses_equal() -> None:
    arch = load_prototype("prototypes/shufflenetv2.gs").sample()
    text = architecture_to_text(arch)
    assert "module unit: split { branch {  } branch { conv(bias=false, groups=1, kernel=1" in text
    assert parse_prototype(text).sample() == arch


def test_skip_labels_and_floats_round_trip() -> None:
    conv = LayerSpec.of("conv", out=4, kernel=1, stride=2, groups=1, padding=0, bias=False)
    arch = Architecture(
        "w", (2, 4, 4), 3, (LayerSpec.of("dropout", p=1e-05),),
        (ModuleSpec("skip", "seq", ((),)), ModuleSpec("skip", "seq", ((conv, LayerSpec.of("bn")),)),
         ModuleSpec("r", "residual", ((LayerSpec.of("relu"),),), "none")),
        (LayerSpec.of("gap"), LayerSpec.of("linear", out=3, bias=True)),
    )
    text = architecture_to_text(arch)
    assert "    skip\n    module skip: seq { conv(" in text
    assert "dropout(p=0.00001)" in text
    assert parse_prototype(text).sample() == arch


def test_the_writer_is_public() -> None:
    import genesynth

    assert genesynth.architecture_to_text is architecture_to_text
