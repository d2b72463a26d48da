"""Run-directory files that are not UTF-8, too deep or too long: one clear error each."""

from __future__ import annotations

from pathlib import Path

import pytest

from genesynth.cli import main
from genesynth.errors import RunError
from genesynth.record.run import read_run
from tests.export.test_exporters import every_kind, make_run


@pytest.mark.parametrize(("content", "message"), [
    (b'{"seed": "\xff"}', ":1:11: the run description is not UTF-8 text (byte 0xff)"),
    (b"[" * 100000, ": not valid JSON: nested too deeply"),
    (b'{"seed": ' + b"7" * 5000 + b"}", ": not valid JSON: Exceeds the limit (4300 digits)"),
    (b"[1, 2]", ": damaged run description (expected a JSON object)"),
])
def test_a_damaged_run_json(tmp_path: Path, content: bytes, message: str) -> None:
    (tmp_path / "run.json").write_bytes(content)
    with pytest.raises(RunError) as info:
        read_run(tmp_path)
    assert str(info.value).startswith(f"{tmp_path / 'run.json'}{message}")


@pytest.mark.parametrize(("name", "what"), [
    ("family.json", "family"), ("family/A/arch.json", "architecture"),
])
def test_export_of_a_run_whose_files_are_not_utf8(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, what: str
) -> None:
    run = make_run(tmp_path / "run", {"A": every_kind()})
    path = run / name
    path.write_bytes(path.read_bytes().replace(b'"A"', b'"\xc0"', 1) if name == "family.json"
                     else b'{"name": "\xc0"}')
    assert main(["export", str(run), "--format", "json", "--out", str(tmp_path / "a.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}:1:") and err.endswith(
        f": the {what} is not UTF-8 text (byte 0xc0)\n")
