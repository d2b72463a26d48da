"""Resume continues a run: the sampler goes on where it stopped, a finished run starts nothing,
a family killed while retraining (or deleted) is made again; widening and the input shape."""

from __future__ import annotations

import io
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import optuna
import pytest

import genesynth
from genesynth.dashboard.plain import PlainLog
from genesynth.evaluate.base import Evaluator, Report
from genesynth.events import RunStarted, SearchExtended, SearchNotExtended
from genesynth.goal.constraint import Constraint
from genesynth.net.measurement import Measurement
from genesynth.record.layout import study_url
from genesynth.storage import open_storage
from genesynth.synth.trials import FAMILY_ATTR
from tests.synth.test_engine import FAST, TINY

RULE = Constraint(min_accuracy=50.0)


class ByCost(Evaluator):
    """Top-1 grows with MACs (every candidate on the Pareto front), no training."""

    def evaluate(self, arch: Any, report: Report) -> Measurement:
        c = genesynth.cost(arch)
        return Measurement(min(99.0, 60.0 + c.macs / 10_000), c.params, c.macs)


@pytest.fixture(scope="module")
def digits() -> Any:
    return genesynth.load_data("digits", limit=300)


def _run(out: Path, digits: Any, text: str = TINY, **kwargs: Any) -> tuple[Any, list[Any]]:
    events: list[Any] = []
    settings = {**FAST, "trials": 6, "family_size": 1, "seed": 0, "evaluator": ByCost(),
                **kwargs}
    result = genesynth.synthesize(genesynth.parse_prototype(text), RULE, data=digits, out=out,
                                  listeners=[events.append], **settings)
    return result, events


def _members(family: list[Any]) -> list[tuple[str, int, str, float]]:
    """What a family is, without the measured latency (it differs from run to run)."""
    return [(m.label, m.trial, m.key, m.accuracy) for m in family]


def _proposals(result: Any) -> list[dict[str, Any]]:
    return [t.params for t in result.trials]


@pytest.mark.parametrize("sampler", ["tpe", "nsga2", "random"])
def test_a_resumed_run_proposes_what_the_uninterrupted_run_did(
    tmp_path: Path, digits: Any, sampler: str
) -> None:
    whole, _ = _run(tmp_path / "whole", digits, sampler=sampler)
    _run(tmp_path / "parts", digits, trials=3, sampler=sampler)
    resumed, events = _run(tmp_path / "parts", digits, resume=True, sampler=sampler)
    assert _proposals(resumed) == _proposals(whole)
    assert len({json.dumps(p, sort_keys=True) for p in _proposals(resumed)}) > 3
    assert [m.key for m in resumed.family] == [m.key for m in whole.family]
    started = [e for e in events if isinstance(e, RunStarted)]
    assert [e.done for e in started] == [3]


def test_the_default_sampler_never_proposes_again_what_a_resumed_run_holds(
    tmp_path: Path, digits: Any
) -> None:
    _run(tmp_path / "run", digits, trials=3)
    resumed, _ = _run(tmp_path / "run", digits, trials=8, resume=True)
    assert resumed.study.user_attrs["run"]["sampler"] == "bayes"
    keys = [t.user_attrs["key"] for t in resumed.trials]
    assert len(keys) == 8 and len(set(keys)) == 8


def test_resuming_a_finished_run_returns_its_family_and_starts_nothing(
    tmp_path: Path, digits: Any
) -> None:
    first, _ = _run(tmp_path / "run", digits, trials=2)
    recorded = (tmp_path / "run" / "events.jsonl").read_text()
    again, events = _run(tmp_path / "run", digits, trials=2, resume=True)
    assert again.finished_before and again.family_out == tmp_path / "run"
    assert _members(again.family) == _members(first.family) and len(again.trials) == 2
    assert events == []
    assert (tmp_path / "run" / "events.jsonl").read_text() == recorded


def test_a_deleted_family_is_made_again_on_resume_without_new_trials(
    tmp_path: Path, digits: Any
) -> None:
    first, _ = _run(tmp_path / "run", digits, trials=3)
    (tmp_path / "run" / "family.json").unlink()
    again, _ = _run(tmp_path / "run", digits, trials=3, resume=True)
    assert not again.finished_before and len(again.trials) == 3
    assert _members(again.family) == _members(first.family)
    assert json.loads((tmp_path / "run" / "family.json").read_text())["members"]


def test_a_family_claim_whose_process_died_is_redone_on_resume(
    tmp_path: Path, digits: Any
) -> None:
    first, _ = _run(tmp_path / "run", digits, trials=3)
    study = optuna.load_study(study_name="genesynth",
                              storage=open_storage(study_url(tmp_path / "run")))
    study.set_user_attr(FAMILY_ATTR, {"worker": "elsewhere-1-dead", "time": 0.0, "trials": 3,
                                      "done": False})
    (tmp_path / "run" / "family.json").unlink()
    again, _ = _run(tmp_path / "run", digits, trials=3, resume=True)
    assert _members(again.family) == _members(first.family) and len(again.trials) == 3


def test_a_kill_while_retraining_the_family_is_finished_by_resume(tmp_path: Path) -> None:
    proto = tmp_path / "tiny.gs"
    proto.write_text(TINY)
    rules = tmp_path / "rules.toml"
    rules.write_text("[bounds]\nmin_accuracy = 10.0\n")
    out = tmp_path / "run"
    args = ["--trials", "2", "--epochs", "1", "--full-epochs", "40", "--family", "1",
            "--out", str(out), "--plain", "--sampler", "random"]
    command = [sys.executable, "-m", "genesynth.cli", "synthesize", str(proto), "--constraint",
               str(rules), *args]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(out / "events.jsonl", '"MemberEpoch"')
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        process.kill()
    study = optuna.load_study(study_name="genesynth", storage=open_storage(study_url(out)))
    assert study.user_attrs[FAMILY_ATTR]["done"] is False
    assert not (out / "family.json").exists()

    result = genesynth.synthesize(proto, rules, trials=2, out=out, resume=True, seed=0,
                                  sampler="random", epochs=1, full_epochs=40, family_size=1)
    assert len(result.trials) == 2 and len(result.family) == 1
    members = json.loads((out / "family.json").read_text())["members"]
    assert [m["trial"] for m in members] == [m.trial for m in result.family]


def _wait_for(events: Path, word: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if events.exists() and word in events.read_text():
            return
        time.sleep(0.05)
    raise AssertionError(f"no {word} in {events} in time")


TWO = """
network two {
  input 3x32x32
  classes 10
  stem { conv(out=8) bn relu }
  modules { block(out=[8, 32]) }
  head { gap linear(out=classes) softmax }
}

module block(out): residual(shortcut=auto) {
  conv(out=out, kernel=3) bn relu
} then { relu }
"""


def test_with_no_room_below_the_family_is_searched_above_member_a_and_the_run_says_what_it_found(
    tmp_path: Path, digits: Any
) -> None:
    class Flat(Evaluator):  # equal top-1: the smaller network beats the larger on every measure
        def evaluate(self, arch: Any, report: Report) -> Measurement:
            c = genesynth.cost(arch)
            return Measurement(90.0, c.params, c.macs)

    result, events = _run(tmp_path / "run", digits, text=TWO, trials=4, family_size=3,
                          evaluator=Flat(), sampler="random")
    smallest = min(t.user_attrs["macs"] for t in result.trials)
    largest = max(t.user_attrs["macs"] for t in result.trials)
    assert [m.macs for m in result.family] == [smallest]
    # no room below the smallest network: one phase above A, up to the largest network
    [phase] = [e for e in events if isinstance(e, SearchExtended)]
    floor = math.ceil(smallest / 0.8)
    assert (phase.phase, phase.min_macs, phase.max_macs, phase.trials) == (1, floor, largest, 8)
    above = [t for t in result.trials if t.user_attrs.get("phase") == 1
             and t.user_attrs["state"] in ("complete", "duplicate")]
    assert above and {t.user_attrs["macs"] for t in above} == {largest}
    [why] = [e for e in events if isinstance(e, SearchNotExtended)]
    assert (why.members, why.wanted) == (1, 3)
    assert why.reason == (
        f"phase 1 searched above member A (MACs >= {floor:,}): of the 1 network measured "
        "there, none is feasible and more accurate than A's 90.00% (the best: 90.00%); a "
        f"smaller member needs MACs <= {int(0.8 * smallest):,}, but the prototype's smallest "
        f"network has {smallest:,} MACs")


def test_a_run_says_which_input_shape_it_uses(tmp_path: Path, digits: Any) -> None:
    _, events = _run(tmp_path / "run", digits, text=TWO, trials=1)
    started = events[0]
    assert isinstance(started, RunStarted)
    assert (started.input_shape, started.declared_shape) == ((1, 8, 8), (3, 32, 32))
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert (run["input_shape"], run["declared_input_shape"]) == ([1, 8, 8], [3, 32, 32])
    stream = io.StringIO()
    PlainLog(stream)(started)
    assert " input 1x8x8 (the data's; the prototype declares 3x32x32)" in stream.getvalue()
