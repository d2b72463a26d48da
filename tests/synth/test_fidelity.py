"""A run measures its own evaluator: scores against candidates trained alone, beside MACs."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import pytest

import genesynth
from genesynth.dashboard.plain import PlainLog
from genesynth.evaluate.base import CandidateFailed, Evaluator, Measurement, Report
from genesynth.events import FidelityChecked
from genesynth.goal.constraint import Constraint
from genesynth.record.fidelity import Pair, check_of, kendall_tau, tau_interval
from genesynth.synth import RunInterrupted
from genesynth.synth.checks import CHECK_PREFIX
from genesynth.synth.fidelity import spread
from tests.synth.test_engine import FAST, TINY


class Scored(Evaluator):
    """A weight-sharing-like evaluator. ``sign = -1``: a candidate's own accuracy (trained
    alone, retrained) grows with its MACs and its score falls with it (scores rank worse
    than MACs); ``sign = 1``: its own accuracy follows its key, not its MACs, and the score
    is that accuracy (scores rank better than MACs)."""

    stand_alone = False
    checks = 3

    def __init__(self, sign: float) -> None:
        self.sign = sign
        self.alone: list[str] = []

    def own(self, arch: Any) -> float:
        if self.sign > 0:
            return 40.0 + int(arch.key[:6], 16) % 4000 / 100
        return 40.0 + 10.0 * math.log10(genesynth.cost(arch).macs)

    def evaluate(self, arch: Any, report: Report) -> Measurement:
        c = genesynth.cost(arch)
        return Measurement(self.own(arch) if self.sign > 0 else 100.0 - self.own(arch),
                           c.params, c.macs)

    def retrain(self, arch: Any, report: Report, searched: Measurement | None = None
                ) -> tuple[Measurement, None]:
        c = genesynth.cost(arch)
        return Measurement(self.own(arch) + 1.0, c.params, c.macs), None

    def train_alone(self, arch: Any, report: Report) -> Measurement:
        self.alone.append(arch.key)
        c = genesynth.cost(arch)
        return Measurement(self.own(arch), c.params, c.macs)


class Interrupted(Scored):
    """Scored, with a Ctrl-C as its ``stop``-th training alone begins (None: never)."""

    def __init__(self, sign: float, stop: int | None = None) -> None:
        super().__init__(sign)
        self.stop = stop

    def train_alone(self, arch: Any, report: Report) -> Measurement:
        if len(self.alone) + 1 == self.stop:
            raise KeyboardInterrupt
        return super().train_alone(arch, report)


def _run(tmp_path: Path, digits: Any, sign: float, evaluator: Scored | None = None,
         resume: bool = False, out: str = "run") -> tuple[Any, Scored, str]:
    evaluator = evaluator or Scored(sign)
    stream = io.StringIO()
    events: list[Any] = []
    log = PlainLog(stream)
    result = genesynth.synthesize(
        genesynth.parse_prototype(TINY), Constraint(), data=digits, out=tmp_path / out,
        trials=12, family_size=2, seed=0, sampler="random", evaluator=evaluator,
        listeners=[log, events.append], resume=resume, cache=None, **FAST)
    checked = [e for e in events if isinstance(e, FidelityChecked)]
    assert len(checked) == 1
    return result, evaluator, stream.getvalue()


@pytest.fixture(scope="module")
def digits() -> Any:
    return genesynth.load_data("digits", limit=200)


def test_scores_that_rank_worse_than_macs_are_warned_about(tmp_path: Path, digits: Any
                                                          ) -> None:
    result, evaluator, log = _run(tmp_path, digits, sign=-1.0)
    assert len(evaluator.alone) == 3  # checks, none of them a family member
    assert not set(evaluator.alone) & {m.key for m in result.family}
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    check = run["fidelity"]
    assert len(check["pairs"]) == 3 + len(result.family)
    assert check["tau"] == -1.0 and check["macs_tau"] == 1.0
    warning = ("the evaluator's scores ranked {} candidates trained alone no better than their "
               "MACs did (tau -1.00 against 1.00): its choice of the family is no better than "
               "choosing by size").format(len(check["pairs"]))
    assert check["warning"] == warning
    assert f"\nwarning: {warning}\n" in log
    assert "fidelity check: training 3 candidates alone for 1 epoch (the proxy budget)" in log
    genesynth.write_report(tmp_path / "run")
    report = (tmp_path / "run" / "report.md").read_text()
    assert "## Fidelity of the scores" in report and f"**Warning:** {warning}." in report
    assert "Kendall tau -1.00 [-1.00, -1.00], MACs alone 1.00 [1.00, 1.00]" in report


def test_scores_that_rank_as_the_truth_does_give_no_warning(tmp_path: Path, digits: Any
                                                           ) -> None:
    _, _, log = _run(tmp_path, digits, sign=1.0)
    check = json.loads((tmp_path / "run" / "run.json").read_text())["fidelity"]
    assert check["tau"] == 1.0 and check["macs_tau"] < 1.0 and check["warning"] == ""
    assert "fidelity check: scores vs trained alone: Kendall tau 1.00 [1.00, 1.00]" in log
    assert "warning:" not in log


def test_tau_and_its_interval() -> None:
    assert kendall_tau([1, 2, 3, 4], [10, 20, 30, 40]) == 1.0
    assert kendall_tau([1, 2, 3, 4], [40, 30, 20, 10]) == -1.0
    assert kendall_tau([1, 2, 3], [5, 5, 5]) == 0.0
    tau, low, high = tau_interval([1, 2, 3, 4, 5, 6], [1, 3, 2, 4, 6, 5], seed=0)
    assert tau == pytest.approx(11 / 15) and -1.0 <= low < tau < high <= 1.0
    assert tau_interval([1, 2, 3, 4, 5, 6], [1, 3, 2, 4, 6, 5], seed=0) == (tau, low, high)
    pairs = [Pair(str(i), float(i), float(i), 10 - i, "check") for i in range(5)]
    check = check_of(pairs)
    assert (check.tau, check.macs_tau) == (1.0, -1.0) and check.warning == ""


def test_checks_are_spread_over_the_macs_range() -> None:
    found = [genesynth.synth.family.Candidate(i, None, 50.0, 1, macs, 0.0)  # type: ignore[arg-type]
             for i, macs in enumerate([50, 10, 40, 20, 30, 60, 70])]
    assert [c.macs for c in spread(found, 3)] == [10, 40, 70]
    assert [c.macs for c in spread(found, 10)] == [10, 20, 30, 40, 50, 60, 70]


def test_a_resumed_run_keeps_the_checks_trained_before_the_interrupt(tmp_path: Path,
                                                                     digits: Any) -> None:
    _, straight, _ = _run(tmp_path, digits, sign=1.0, out="straight")
    first = Interrupted(1.0, stop=2)
    with pytest.raises(RunInterrupted):
        _run(tmp_path, digits, sign=1.0, evaluator=first)
    assert first.alone == straight.alone[:1]
    again = Interrupted(1.0)
    _, _, log = _run(tmp_path, digits, sign=1.0, evaluator=again, resume=True)
    assert again.alone == straight.alone[1:]  # the first check is not trained again
    assert ("fidelity check: training 3 candidates alone for 1 epoch (the proxy budget); "
            "1 of them trained before the interrupt, kept\n") in log
    check, expected = (json.loads((tmp_path / name / "run.json").read_text())["fidelity"]
                       for name in ("run", "straight"))
    assert check == expected


class Failing(Scored):
    """Scored, whose first training alone fails (a non-finite loss)."""

    def train_alone(self, arch: Any, report: Report) -> Measurement:
        if not self.alone:
            self.alone.append(arch.key)
            raise CandidateFailed("the training loss is nan")
        return super().train_alone(arch, report)


def test_a_check_whose_training_fails_is_left_out_and_the_run_goes_on(tmp_path: Path,
                                                                      digits: Any) -> None:
    result, evaluator, log = _run(tmp_path, digits, sign=1.0, evaluator=Failing(1.0))
    failed = evaluator.alone[0]
    check = json.loads((tmp_path / "run" / "run.json").read_text())["fidelity"]
    assert [p["source"] for p in check["pairs"]] == ["check", "check"] + ["family"] * len(
        result.family)
    assert failed not in {p["key"] for p in check["pairs"]}
    assert f"(2 trained for the check, {len(result.family)} family members;" in log
    stored = result.study.user_attrs[CHECK_PREFIX + failed]
    assert (stored["done"], stored["error"]) == (True, "the training loss is nan")
