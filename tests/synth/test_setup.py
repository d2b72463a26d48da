"""One run setup: ``setup_from_spec`` is the only place a Setup is made, and a worker's setup
(rebuilt from the stored spec) is the first process's (made from the user's arguments)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import genesynth
from genesynth.evaluate.table import TableEvaluator
from genesynth.space import load_prototype
from genesynth.synth.api import Request, make_setup
from genesynth.synth.engine import open_study
from genesynth.synth.setup import Held, setup_from_spec
from genesynth.synth.worker import load_run, rebuild
from tests.synth.test_distributed import CONSTRAINT, PROTOTYPE

PACKAGE = Path(genesynth.__file__).parent


def test_only_synth_setup_makes_a_setup() -> None:
    makers = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "Setup"):
                makers.append(str(path.relative_to(PACKAGE)))
    assert makers == ["synth/setup.py"]


def test_a_workers_setup_is_the_first_processs(tmp_path: Path) -> None:
    (tmp_path / "tiny.gs").write_text(PROTOTYPE)
    (tmp_path / "c.toml").write_text(CONSTRAINT)
    proto = load_prototype(tmp_path / "tiny.gs")
    (tmp_path / "table.json").write_text(json.dumps(
        {proto.sample(seed=seed).key: 50.0 for seed in range(20)}))
    url = f"journal://{tmp_path / 'run.log'}"
    first = make_setup(Request(
        tmp_path / "tiny.gs", tmp_path / "c.toml", trials=4, out=tmp_path / "run",
        sampler="random", evaluator={"kind": "table", "path": str(tmp_path / "table.json")},
        storage=url, study="tiny", family_size=2, heartbeat=7))
    open_study(first)
    study, spec = load_run(url, "tiny", worker=True)
    assert spec == first.spec
    assert (spec.shared_out, spec.heartbeat, spec.measure) == (
        str((tmp_path / "run").resolve()), 7, "top-1")
    worker = rebuild(study, spec, None, device="cpu")
    assert worker.out == Path(spec.shared_out)
    assert worker.prototype.text == first.prototype.text
    assert worker.prototype.input_shape == first.prototype.input_shape
    assert worker.constraint.describe() == first.constraint.describe()
    assert worker.evaluator.describe() == first.evaluator.describe()
    assert isinstance(worker.evaluator, TableEvaluator)
    assert type(worker.sampler) is type(first.sampler)
    assert (worker.dataset, first.dataset) == (None, None)  # a table needs no data
    assert (worker.device, worker.compile, first.device, first.compile) == (
        "cpu", False, "auto", False)


def test_what_is_not_held_is_made_from_the_spec(tmp_path: Path) -> None:
    (tmp_path / "tiny.gs").write_text(PROTOTYPE)
    (tmp_path / "c.toml").write_text(CONSTRAINT)
    proto = load_prototype(tmp_path / "tiny.gs")
    (tmp_path / "table.json").write_text(json.dumps({proto.sample(seed=0).key: 50.0}))
    first = make_setup(Request(tmp_path / "tiny.gs", tmp_path / "c.toml", trials=3,
                               out=tmp_path / "run", sampler="tpe",
                               evaluator={"kind": "table",
                                          "path": str(tmp_path / "table.json")}))
    again = setup_from_spec(first.spec, first.out, compile=None, held=Held())
    assert again.prototype.text == first.prototype.text
    assert again.constraint == first.constraint
    assert again.evaluator.describe() == first.evaluator.describe()
    assert type(again.sampler) is type(first.sampler)  # "tpe", seeded per trial number
    assert again.compile is first.spec.compile is False
