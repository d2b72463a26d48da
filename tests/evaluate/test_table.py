from __future__ import annotations

import json
from pathlib import Path

import pytest

from genesynth.errors import DataError
from genesynth.evaluate.base import CandidateFailed
from genesynth.evaluate.table import TableEvaluator
from genesynth.net.arch import Architecture, LayerSpec
from genesynth.net.costs import cost

ARCH = Architecture(
    "t", (1, 8, 8), 10,
    (LayerSpec.of("conv", out=8, kernel=3, stride=1, groups=1, padding=1, bias=True),),
    (), (LayerSpec.of("gap"), LayerSpec.of("linear", out=10, bias=True)),
)


def test_looks_up_accuracy_by_canonical_key_and_reports_once(tmp_path: Path) -> None:
    path = tmp_path / "table.json"
    path.write_text(json.dumps({ARCH.key: {"accuracy": 91.5}}))
    reports: list[tuple[int, float | None, float]] = []
    m = TableEvaluator(path).evaluate(ARCH, lambda *r: reports.append(r))
    assert (m.accuracy, m.params, m.macs) == (91.5, cost(ARCH).params, cost(ARCH).macs)
    assert reports == [(1, None, 91.5)]  # a lookup: nothing trained, so no loss


def test_absent_key_fails_the_candidate_only(tmp_path: Path) -> None:
    path = tmp_path / "table.json"
    path.write_text("{}")
    with pytest.raises(CandidateFailed, match=f"architecture {ARCH.key} is not in"):
        TableEvaluator(path).evaluate(ARCH, lambda *r: None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "table.json: expected an object mapping architecture keys to accuracy"),
        ('{"k": 120}', "table.json: k: expected an accuracy in percent (0..100), got 120"),
        ('{"k": ', "table.json:1:7: not valid JSON: Expecting value"),
    ],
)
def test_bad_tables_are_clear_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "table.json"
    path.write_text(text)
    with pytest.raises(DataError) as error:
        TableEvaluator(path)
    assert str(error.value) == f"{tmp_path}/{message}"
