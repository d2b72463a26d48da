"""``genesynth refine`` and ``genesynth diff`` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import genesynth
from genesynth.cli import main
from tests.human.test_refine import run  # noqa: F401 - the module-scoped run fixture


def test_refine_writes_a_prototype_that_loads(run: Path, tmp_path: Path,  # noqa: F811
                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "b.gs"
    assert main(["refine", str(run), "--member", "B", "--open", "m09-m16", "--around",
                 "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert said == (f"wrote {out}: 8 modules locked, 8 opened; synthesize it with "
                    f"--warm-start {run}\n")
    assert out.read_text() == genesynth.refine(run, member="B", open="m09-m16",
                                               around=True).text
    genesynth.load_prototype(out)
    assert main(["refine", str(run), "--member", "B", "--open", "m09", "--out", str(out)]) == 2
    assert capsys.readouterr().err == f"error: {out} exists; pass --force to overwrite it\n"


def test_refine_prints_when_no_file_is_named(run: Path,  # noqa: F811
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["refine", str(run), "--trial", "1", "--lock", "m01-m04"]) == 0
    assert capsys.readouterr().out == genesynth.refine(run, trial=1, lock="m01-m04").text


def test_refine_names_the_members_that_exist(run: Path,  # noqa: F811
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["refine", str(run), "--member", "F", "--open", "m01"]) == 2
    assert capsys.readouterr().err == f"error: {run}: no family member 'F'; its members are A, B\n"


def test_diff_as_json_and_as_a_table(run: Path, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", f"{run}:A", f"{run}:B", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == genesynth.diff(f"{run}:A", f"{run}:B").to_dict()
    monkeypatch.setenv("COLUMNS", "160")
    assert main(["diff", f"{run}:A", f"{run}:A"]) == 0
    out = capsys.readouterr().out
    total = data["a"]
    assert f"{total['params']:,}" in out and "18 parts equal" in out


def _tokens(text: str) -> set[str]:
    """The words of a rendered table: what lies between its borders and spaces."""
    for ch in "│┃┏┓┗┛┡┩└┘├┤┼━─╇┳┻╋┴┬":
        text = text.replace(ch, " ")
    return set(text.split())


@pytest.mark.parametrize("columns", [80, 140])
def test_diff_keeps_every_number_and_word_whole(run: Path, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
                                                 capsys: pytest.CaptureFixture[str],
                                                 columns: int) -> None:
    data = genesynth.diff(f"{run}:A", f"{run}:B").to_dict()
    monkeypatch.setenv("COLUMNS", str(columns))
    assert main(["diff", f"{run}:A", f"{run}:B"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= columns
    numbers = {f"{side[key]:,}" for side in (data["a"], data["b"]) for key in ("params", "macs")}
    words = {"part", "differs", "layers", "params", "MACs", "total"}
    for part in data["parts"]:
        if not part["differs"]:
            continue
        words |= {part["part"], *(w.rstrip(",") for w in part["differs"])}
        for side in (part["a"], part["b"]):
            if side is not None:
                numbers |= {f"{side['params']:,}", f"{side['macs']:,}"}
                words |= set(side["layers"].split())
    tokens = {t.rstrip(",") for t in _tokens(out)}
    assert numbers <= tokens, sorted(numbers - tokens)
    assert words <= tokens, sorted(words - tokens)
