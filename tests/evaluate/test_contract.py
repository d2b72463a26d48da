"""Every registered evaluator through the same checks, and the resolver's messages."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from genesynth.costs import cost
from genesynth.errors import GenesynthError, RunError
from genesynth.evaluate import EVALUATORS, Evaluator, Measurement, evaluator_class
from genesynth.evaluate import resolve_evaluator as resolve
from genesynth.evaluate.train import TrainConfig
from tests.evaluate.test_train import ARCH, _Data


def _description(kind: str, tmp_path: Path) -> dict[str, Any]:
    """A small description of each registered kind (add one when you register a kind)."""
    if kind == "train":
        return {"kind": "train", "proxy": TrainConfig(epochs=2, batch_size=32).to_dict(),
                "full": TrainConfig(epochs=1, batch_size=32).to_dict()}
    if kind == "table":
        (tmp_path / "table.json").write_text(json.dumps({ARCH.key: 88.0}))
        return {"kind": "table", "path": str(tmp_path / "table.json")}
    raise AssertionError(f"no test description for the evaluator kind {kind!r}")


@pytest.fixture(params=sorted(EVALUATORS))
def evaluator(request: pytest.FixtureRequest, tmp_path: Path) -> Evaluator:
    return resolve(_description(request.param, tmp_path), _Data)


def test_registered_kinds_are_evaluators() -> None:
    for kind in EVALUATORS:
        assert issubclass(evaluator_class(kind), Evaluator)


def test_description_rebuilds_the_same_evaluator(evaluator: Evaluator) -> None:
    described = evaluator.describe()
    assert described["kind"] in EVALUATORS
    assert json.loads(json.dumps(described)) == described
    assert resolve(described, _Data).describe() == described
    assert resolve(evaluator, _Data) is evaluator


def test_evaluate_reports_each_step_and_the_analytic_cost(evaluator: Evaluator) -> None:
    reports: list[tuple[int, float, float]] = []
    m = evaluator.evaluate(ARCH, lambda *r: reports.append(r))
    c = cost(ARCH)
    assert (m.params, m.macs) == (c.params, c.macs)
    assert 0.0 <= m.accuracy <= 100.0
    assert [r[0] for r in reports] == list(range(1, evaluator.epochs + 1))
    assert reports[-1][2] == m.accuracy
    assert isinstance(evaluator.prunable, bool)


def test_retrain_measures_a_member(evaluator: Evaluator) -> None:
    searched = evaluator.evaluate(ARCH, lambda *r: None)
    m, state = evaluator.retrain(ARCH, lambda *r: None, searched)
    assert isinstance(m, Measurement) and (m.params, m.macs) == (searched.params, searched.macs)
    assert state is None or isinstance(state, Mapping)


class _Minimal(Evaluator):
    def evaluate(self, arch: Any, report: Any) -> Measurement:
        return Measurement(50.0, 1, 2)


def test_hooks_are_documented_no_ops() -> None:
    minimal = _Minimal()
    assert minimal.prepare(None) is None  # type: ignore[arg-type]
    assert (minimal.epochs, minimal.prunable) == (1, True)
    assert minimal.describe() == {"kind": "_Minimal"}
    searched = Measurement(70.0, 1, 2)
    assert minimal.retrain(ARCH, lambda *r: None, searched) == (searched, None)
    assert minimal.retrain(ARCH, lambda *r: None) == (Measurement(50.0, 1, 2), None)


def test_evaluate_is_required() -> None:
    class NoEvaluate(Evaluator):
        pass

    with pytest.raises(TypeError, match="abstract method '?evaluate"):
        NoEvaluate()  # type: ignore[abstract]


def test_resolver_messages(tmp_path: Path) -> None:
    with pytest.raises(RunError, match=r"^unknown evaluator 'magic': the registered ones are "
                       r"table, train \(genesynth.evaluate.EVALUATORS\); any other must be "
                       r"passed as an Evaluator object$"):
        resolve("magic", _Data)
    with pytest.raises(RunError, match=r"^`evaluator` must be an Evaluator, a kind \(table, "
                       r"train\) or a description, but got evaluator=3$"):
        resolve(3, _Data)  # type: ignore[arg-type]
    with pytest.raises(RunError, match="cannot be rebuilt from its description"):
        _Minimal.from_description({"kind": "_Minimal"}, _Data)
    with pytest.raises(GenesynthError, match="the table evaluator needs the `path`"):
        resolve("table", _Data)
    with pytest.raises(RunError, match=r"training settings are damaged"):
        resolve({"kind": "train", "proxy": {"epoch": 1}}, _Data)


def test_the_table_does_not_load_data(tmp_path: Path) -> None:
    def no_data() -> Any:
        raise AssertionError("the table evaluator asked for data")

    assert resolve(_description("table", tmp_path), no_data).prunable is False
