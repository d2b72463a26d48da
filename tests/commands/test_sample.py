from __future__ import annotations

import pytest

from genesynth import Architecture, load_prototype, parse_prototype
from genesynth.cli import main


def test_sample_prints_choices_and_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sample", "prototypes/attonet16.gs", "--seed", "4"]) == 0
    lines = capsys.readouterr().out.splitlines()
    arch, choices = load_prototype("prototypes/attonet16.gs").sample_with_choices(4)
    assert lines[0] == f"attonet16 seed 4: {len(choices)} choices"
    assert lines[1].split() == ["m01.out", str(choices["m01.out"])]
    assert lines[-1].startswith(f"key {arch.key}: 16 modules, ")


def test_sample_json_and_text(capsys: pytest.CaptureFixture[str]) -> None:
    arch = load_prototype("prototypes/mobilenetv2_space.gs").sample(7)
    assert main(["sample", "prototypes/mobilenetv2_space.gs", "--seed", "7", "--json"]) == 0
    assert Architecture.from_json(capsys.readouterr().out) == arch
    assert main(["sample", "prototypes/mobilenetv2_space.gs", "--seed", "7", "--text"]) == 0
    assert parse_prototype(capsys.readouterr().out).sample() == arch


def test_sample_with_a_bad_override(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["sample", "prototypes/resnet18.gs", "--input", "3x32"])
    assert info.value.code == 2
    assert "expected CxHxW such as 3x32x32, but got '3x32'" in capsys.readouterr().err
