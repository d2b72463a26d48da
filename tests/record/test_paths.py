"""A run directory from anyone: the study its run.json names is followed only inside it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genesynth.cli import main
from genesynth.errors import RunError
from genesynth.record.reader import locate
from genesynth.record.run import inside


@pytest.mark.parametrize("url", ["journal:///etc/passwd", "sqlite:////etc/passwd",
                                 "journal://../elsewhere/study.log"])
def test_a_recorded_study_file_outside_the_run_is_not_followed(
        tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"storage": url}), encoding="utf-8")
    with pytest.raises(RunError, match=r"run.json names a study file outside the run directory"):
        locate(run)
    assert main(["report", str(run)]) == 2
    assert main(["watch", str(run), "--plain"]) == 2
    assert "refusing to follow it" in capsys.readouterr().err
    assert not (run / "report.md").exists()


def test_inside(tmp_path: Path) -> None:
    assert inside(tmp_path, "family/A/arch.json", "x") == tmp_path / "family/A/arch.json"
    (tmp_path / "link").symlink_to("/etc")
    for bad in ("/etc/passwd", "../x", "link/passwd", "", None, 3):
        with pytest.raises(RunError, match="run directory"):
            inside(tmp_path, bad, "the arch")


def test_a_path_that_is_a_symlink_loop_is_a_clear_error(tmp_path: Path) -> None:
    """Issue 25's probe: family/A/arch.json linked to itself was a RuntimeError traceback."""
    (tmp_path / "family" / "A").mkdir(parents=True)
    loop = tmp_path / "family" / "A" / "arch.json"
    loop.symlink_to(loop)
    with pytest.raises(RunError, match=r"member 'A''s arch 'family/A/arch.json' is a symlink "
                                       r"loop"):
        inside(tmp_path, "family/A/arch.json", "member 'A''s arch")
