"""``genesynth export DIR --member A --format ...`` through the CLI entry point."""

from __future__ import annotations

from pathlib import Path

import pytest

from genesynth.cli import main
from genesynth.dsl.writer import architecture_to_text
from genesynth.net.arch import Architecture
from tests.export.test_exporters import every_kind, has_text_writer, logits_only, make_run


def test_export_pytorch_default_place(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = make_run(tmp_path / "run", {"A": every_kind(), "B": logits_only()})
    assert main(["export", str(run), "--member", "B"]) == 0
    out = capsys.readouterr().out
    folder = run / "family" / "B"
    assert f"wrote {folder / 'model.py'}" in out and f"wrote {folder / 'model.pt'}" in out
    assert "def build() -> Network:" in (folder / "model.py").read_text()


def test_export_json_to_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = make_run(tmp_path / "run", {"A": logits_only()})
    (tmp_path / "dist").mkdir()
    args = ["export", str(run), "--format", "json", "--out", str(tmp_path / "dist")]
    assert main(args) == 0
    written = tmp_path / "dist" / "model.json"
    assert f"wrote {written}" in capsys.readouterr().out
    assert Architecture.from_json(written.read_text()) == logits_only()


def test_export_onnx(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("onnx")
    run = make_run(tmp_path / "run", {"A": logits_only()})
    target = tmp_path / "net.onnx"
    assert main(["export", str(run), "--format", "onnx", "--out", str(target)]) == 0
    assert target.is_file() and f"wrote {target}" in capsys.readouterr().out


def test_export_text(tmp_path: Path) -> None:
    if not has_text_writer():
        pytest.skip("genesynth.dsl.writer (to_text) is not written yet")
    run = make_run(tmp_path / "run", {"A": every_kind()})
    assert main(["export", str(run), "--format", "text"]) == 0
    assert (run / "family" / "A" / "model.gs").read_text() == architecture_to_text(every_kind())


def test_unknown_member_is_a_clean_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = make_run(tmp_path / "run", {"A": logits_only(), "B": logits_only()})
    assert main(["export", str(run), "--member", "E"]) == 2
    err = capsys.readouterr().err
    assert "no member 'E' in" in err and "members: A, B" in err
    assert "Traceback" not in err


def test_unknown_format_is_refused_by_argparse(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main(["export", str(tmp_path), "--format", "keras"])
