from __future__ import annotations

from pathlib import Path

import pytest

from genesynth.cli import main


def test_check_a_fixed_prototype(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "prototypes/resnet18.gs", "--input", "3x224x224", "--classes",
                 "1000"]) == 0
    assert capsys.readouterr().out == (
        "prototypes/resnet18.gs: ok\n"
        "  network       resnet18\n"
        "  input         3x224x224\n"
        "  classes       1000\n"
        "  choices       0\n"
        "  space size    1\n"
        "  params        11,689,512 .. 11,689,512\n"
        "  MACs          1,814,073,344 .. 1,814,073,344\n"
        "  valid samples 100 %\n"
    )


def test_check_a_space_says_its_ranges_are_approximate(
    capsys: pytest.CaptureFixture[str]
) -> None:
    # Today: "MACs ≈856,864 .. " read as a lower bound, above networks the run then built.
    assert main(["check", "prototypes/attonet16.gs", "--input", "1x8x8"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[4:6] == ["  choices       99", "  space size    5.664e+40"]
    assert out[6].startswith("  params        ") and out[7].startswith("  MACs          ")
    assert out[8:] == [
        "                (approximate: the smallest and largest of random samples; the space "
        "also holds smaller and larger networks)",
        "  valid samples 100 %"]


def test_check_reports_a_mistake_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.gs"
    bad.write_text("network a {\n  input 3x8x8 classes 2\n  stem { cnov(out=4) }\n}\n")
    assert main(["check", str(bad)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"error: {bad}:3:10: unknown layer kind 'cnov'; did you mean 'conv'?\n"
        "    3 |   stem { cnov(out=4) }\n"
        "      |          ^\n"
    )


def test_check_a_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "nope.gs"]) == 2
    assert capsys.readouterr().err == (
        "error: nope.gs: cannot read the prototype: No such file or directory\n")
