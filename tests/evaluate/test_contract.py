"""Every registered evaluator through the same checks, and the resolver's messages."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from genesynth.errors import GenesynthError, RunError
from genesynth.evaluate import EVALUATORS, Evaluator, Measurement, evaluator_class
from genesynth.evaluate import resolve_evaluator as resolve
from genesynth.evaluate.base import EvaluatorContext
from genesynth.evaluate.supernet import SupernetConfig
from genesynth.evaluate.train import TrainConfig
from genesynth.net.costs import cost
from genesynth.space import parse_prototype
from tests.evaluate.test_train import ARCH, _Data

#: The space the checks sample from: an evaluator may score only samples of the run's
#: prototype (a supernet holds the weights of that space and no other).
TOY = parse_prototype("""
network toy {
  input 1x4x4
  classes 2
  stem { conv(out=[4, 8]) bn relu }
  modules { blk * 1 }
  head { gap linear(out=classes) softmax }
}
module blk: residual(shortcut=identity) { conv(kernel=[1, 3]) bn } then { relu }
""", "toy.gs")
SAMPLE = TOY.sample(seed=0)


@dataclass(frozen=True)
class _Toy(_Data):
    """The toy data with what identifies a dataset (a supernet checkpoint records it)."""

    fingerprint: str = "toy"
    input_shape: tuple[int, int, int] = (1, 4, 4)


def _description(kind: str, tmp_path: Path) -> dict[str, Any]:
    """A small description of each registered kind (add one when you register a kind)."""
    if kind == "train":
        return {"kind": "train", "proxy": TrainConfig(epochs=2, batch_size=32).to_dict(),
                "full": TrainConfig(epochs=1, batch_size=32).to_dict()}
    if kind == "table":
        (tmp_path / "table.json").write_text(json.dumps({SAMPLE.key: 88.0}))
        return {"kind": "table", "path": str(tmp_path / "table.json")}
    if kind == "supernet":
        tiny = SupernetConfig(epochs=1, batch_size=32, random=1, calibration_batches=1,
                              plan_samples=8)
        return {"kind": "supernet", "supernet": tiny.to_dict(),
                "full": TrainConfig(epochs=1, batch_size=32).to_dict(), "finetune": False}
    raise AssertionError(f"no test description for the evaluator kind {kind!r}")


@pytest.fixture(params=sorted(EVALUATORS))
def evaluator(request: pytest.FixtureRequest, tmp_path: Path) -> Evaluator:
    """Each kind resolved from its description and prepared for the toy prototype, as the
    engine does before the first trial."""
    made = resolve(_description(request.param, tmp_path), _Toy)
    made.prepare(EvaluatorContext(TOY, _Toy(), tmp_path / "run", seed=0))
    return made


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
    m = evaluator.evaluate(SAMPLE, lambda *r: reports.append(r))
    c = cost(SAMPLE)
    assert (m.params, m.macs) == (c.params, c.macs)
    assert 0.0 <= m.accuracy <= 100.0
    assert [r[0] for r in reports] == list(range(1, evaluator.epochs + 1))
    assert reports[-1][2] == m.accuracy
    assert isinstance(evaluator.prunable, bool)


def test_retrain_measures_a_member(evaluator: Evaluator) -> None:
    searched = evaluator.evaluate(SAMPLE, lambda *r: None)
    m, state = evaluator.retrain(SAMPLE, lambda *r: None, searched)
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
    assert _Minimal.with_run_settings({"kind": "_Minimal"}, 3, None) == {"kind": "_Minimal"}
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
                       r"supernet, table, train \(genesynth.evaluate.EVALUATORS\); any other "
                       r"must be passed as an Evaluator object$"):
        resolve("magic", _Data)
    with pytest.raises(RunError, match=r"^`evaluator` must be an Evaluator, a kind \(supernet, "
                       r"table, train\) or a description, but got evaluator=3$"):
        resolve(3, _Data)  # type: ignore[arg-type]
    with pytest.raises(RunError, match="cannot be rebuilt from its description"):
        _Minimal.from_description({"kind": "_Minimal"}, _Data)
    with pytest.raises(GenesynthError, match="the table evaluator needs the `path`"):
        resolve("table", _Data)
    with pytest.raises(RunError, match=r"training settings are damaged"):
        resolve({"kind": "train", "proxy": {"epoch": 1}}, _Data)
    with pytest.raises(RunError, match=r"^the supernet evaluator has no setting 'epochs'; its "
                       r"description holds supernet, full, finetune, checks, proxy and from$"):
        resolve({"kind": "supernet", "epochs": 2}, _Toy)
    with pytest.raises(RunError, match=r"^the run's supernet settings are damaged \(.*"
                       r"unexpected keyword argument 'epoch'\)$"):
        resolve({"kind": "supernet", "supernet": {"epoch": 2}}, _Toy)
    with pytest.raises(GenesynthError, match=r"^`epochs` must be an integer >= 1, but got "
                       r"epochs=0$"):
        resolve({"kind": "supernet", "supernet": {"epochs": 0}}, _Toy)


def test_the_table_does_not_load_data(tmp_path: Path) -> None:
    def no_data() -> Any:
        raise AssertionError("the table evaluator asked for data")

    assert resolve(_description("table", tmp_path), no_data).prunable is False
