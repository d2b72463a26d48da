"""A member's weights are verified (issue 25): family.json records each member's SHA-256, and
export, report, diff and resume refuse weights that differ from what the run wrote (five
flipped bytes exported silently as a different model)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import genesynth
from genesynth.cli import main
from genesynth.errors import RunError
from genesynth.evaluate.base import Report
from genesynth.export.exporters import export_member
from genesynth.goal.constraint import Constraint
from genesynth.human.compare import diff
from genesynth.net.measurement import Measurement
from genesynth.record.family import file_digest
from genesynth.report.markdown import write_report
from tests.synth.test_engine import FAST, TINY
from tests.synth.test_resume import ByCost

REFUSED = r"member 'A''s weights are not the ones the run wrote .* refusing to use them"


class WithWeights(ByCost):
    """ByCost, and a member's weights: the built network's fresh ``state_dict``."""

    def retrain(self, arch: Any, report: Report, searched: Measurement | None = None
                ) -> tuple[Measurement, Mapping[str, Any] | None]:
        import torch

        torch.manual_seed(0)
        return self.evaluate(arch, report), genesynth.build(arch).state_dict()


def _run(out: Path, digits: Any, **kwargs: Any) -> Any:
    settings = {**FAST, "trials": 4, "family_size": 1, "seed": 0, "evaluator": WithWeights(),
                **kwargs}
    return genesynth.synthesize(genesynth.parse_prototype(TINY), Constraint(min_accuracy=50.0),
                                data=digits, out=out, **settings)


@pytest.fixture(scope="module")
def damaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run whose member A's weights have five flipped bytes."""
    out = tmp_path_factory.mktemp("verified") / "run"
    _run(out, genesynth.load_data("digits", limit=300))
    weights = out / "family" / "A" / "weights.safetensors"
    entry = json.loads((out / "family.json").read_text())["members"][0]
    assert entry["weights_sha256"] == file_digest(weights)
    data = bytearray(weights.read_bytes())
    for at in range(5):
        data[-1 - 97 * at] ^= 0x5A
    weights.write_bytes(bytes(data))
    return out


def test_export_refuses_changed_weights(damaged: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(RunError, match=REFUSED):
        export_member(damaged, "A", "pytorch", out=tmp_path / "m.py")
    assert main(["export", str(damaged), "--out", str(tmp_path / "m.py")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not (tmp_path / "m.py").exists()
    assert export_member(damaged, "A", "json", out=tmp_path / "a.json")  # no weights needed


def test_report_refuses_changed_weights(damaged: Path) -> None:
    with pytest.raises(RunError, match=REFUSED):
        write_report(damaged)


def test_diff_refuses_changed_weights(damaged: Path) -> None:
    with pytest.raises(RunError, match=REFUSED):
        diff(f"{damaged}:A", f"{damaged}:A")


def test_resume_refuses_changed_weights(damaged: Path) -> None:
    with pytest.raises(RunError, match=REFUSED):
        _run(damaged, genesynth.load_data("digits", limit=300), resume=True)
