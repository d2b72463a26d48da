"""Where a storage URL comes from (issue 25): --storage, --storage-file or $GENESYNTH_STORAGE;
a password typed on the command line (visible to every user in `ps`) gets a one-line
warning."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from genesynth.cli import main
from genesynth.commands._common import STORAGE_ENV
from tests.commands.demo_runs import copy_run

SECRET = "postgresql://bob:s3cret@127.0.0.1:1/genesynth"
WARNING = ("warning: the storage URL's password is on the command line, where other users see "
           "it (`ps`); use --storage-file FILE or $GENESYNTH_STORAGE instead\n")


def _url(run: Path) -> str:
    return f"sqlite:///{(run / 'study.db').resolve()}"


def _watch(*argv: str) -> int:
    return main(["watch", *argv, "--plain"])


def test_the_storage_may_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run = copy_run(tmp_path)
    assert _watch(str(run)) == 0
    expected = capsys.readouterr().out
    monkeypatch.setenv(STORAGE_ENV, _url(run))
    assert _watch() == 0
    out, err = capsys.readouterr()
    assert err == "" and out.splitlines()[1] == expected.splitlines()[1]  # the same trials
    monkeypatch.setenv(STORAGE_ENV, "sqlite:///nowhere.db")
    assert _watch(str(run)) == 0  # a run directory names its own storage
    assert capsys.readouterr().out == expected


def test_the_storage_may_come_from_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = copy_run(tmp_path)
    file = tmp_path / "storage.url"
    file.write_text(f"# the run's study\n\n{_url(run)}\n")
    assert _watch("--storage-file", str(file)) == 0
    out, err = capsys.readouterr()
    assert err == "" and "trials" in out
    file.write_text("# nothing\n")
    assert _watch("--storage-file", str(file)) == 2
    assert capsys.readouterr().err == (f"error: {file}: the storage file holds no URL (its "
                                       "first line that is not empty or a # comment is the URL)\n")
    assert _watch("--storage-file", str(file), "--storage", _url(run)) == 2
    assert capsys.readouterr().err == (
        "error: give the storage by --storage or by --storage-file, not both\n")


def test_a_password_on_the_command_line_is_warned_about_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _watch("--storage", SECRET) == 2
    err = capsys.readouterr().err
    assert err.startswith(WARNING) and err.count("warning") == 1
    assert "s3cret" not in err
    assert main(["worker", "--storage", SECRET, "--study", "x", "--plain"]) == 2
    assert capsys.readouterr().err.startswith(WARNING)


def test_a_storage_file_with_a_password_readable_by_others_is_warned_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "storage.url"
    file.write_text(SECRET + "\n")
    os.chmod(file, 0o644)
    assert _watch("--storage-file", str(file)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"warning: {file} holds a password and other users may read it; "
                          f"chmod 600 {file}\n")
    assert "s3cret" not in err
    os.chmod(file, 0o600)
    assert _watch("--storage-file", str(file)) == 2
    assert "warning" not in capsys.readouterr().err


def test_workers_need_a_storage_from_somewhere(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(STORAGE_ENV, raising=False)
    assert main(["family", "--study", "x", "--plain"]) == 2
    assert capsys.readouterr().err == ("error: name the study's storage: --storage URL, "
                                       "--storage-file FILE, or $GENESYNTH_STORAGE\n")
