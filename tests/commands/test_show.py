from __future__ import annotations

from pathlib import Path

import pytest

from genesynth import load_prototype
from genesynth.cli import main


def test_show_a_baseline_table(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
                               ) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    assert main(["show", "prototypes/resnet18.gs"]) == 0
    out = capsys.readouterr().out
    row = "│ m03   │ basic (res proj) │ 3x3 128 s2 · 3x3 128 · proj │ 128x4x4 │    230,144 │"
    assert row in out
    assert "│ total │" in out and "11,181,642" in out and "resnet18" in out


def test_show_a_sample_on_a_narrow_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["show", "prototypes/mobilenetv2_space.gs", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert "mobilenetv2_space: a sample (seed 2)" in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_show_architecture_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "arch.json"
    path.write_text(load_prototype("prototypes/shufflenetv2.gs").sample().to_json())
    assert main(["show", str(path)]) == 0
    assert "unit (split)" in capsys.readouterr().out
