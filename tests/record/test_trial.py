"""The trial record: exact round-trips through Optuna user_attrs, tolerant reading."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import optuna
import pytest

from genesynth.record.trial import (
    TRIAL_STATES,
    TrialRecord,
    TrialState,
    architectures,
    counted_states,
    record,
)

FULL = TrialRecord(
    state="complete", key="3f2a9c0d1e4b5a67", arch='{"name": "tiny"}', params=1234,
    macs=56789, accuracy=91.5, latency_ms=0.25, utility=71.25, feasible=True, reason="",
    curve=(80.0, 91.5), seconds=1.5, phase=1, worker="host-1-abc",
)


def test_round_trip_is_equal() -> None:
    assert TrialRecord.from_attrs(FULL.to_attrs()) == FULL
    assert TrialRecord.from_attrs(TrialRecord().to_attrs()) == TrialRecord()


def test_attrs_hold_recorded_fields_only_in_json_types() -> None:
    assert TrialRecord(state="invalid", reason="no fit").to_attrs() == {
        "state": "invalid", "reason": "no fit"}
    assert FULL.to_attrs()["curve"] == [80.0, 91.5]


def test_through_an_optuna_trial() -> None:
    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    record(trial, **{f: getattr(FULL, f) for f in FULL.to_attrs()})
    study.tell(trial, 1.0)
    assert TrialRecord.of(study.trials[0]) == FULL


def test_wrong_types_read_as_absent() -> None:
    damaged = {"state": 3, "params": "12", "feasible": "yes", "curve": [1, "x"],
               "accuracy": True, "phase": 1.5, "unknown": 1}
    assert TrialRecord.from_attrs(damaged) == TrialRecord()


def test_unknown_field_is_refused() -> None:
    with pytest.raises(TypeError, match="not TrialRecord fields: colour"):
        record(object(), colour="red")


@pytest.mark.parametrize(("state", "finished", "measured"), [
    (None, False, False), ("invalid", True, False), ("infeasible", True, False),
    ("pruned", True, True), ("complete", True, True), ("duplicate", True, True),
])
def test_states(state: str | None, finished: bool, measured: bool) -> None:
    rec = TrialRecord(state=state)
    assert (rec.finished, rec.measured) == (finished, measured)


def test_architectures_by_trial_number_skip_missing_and_damaged_ones() -> None:
    study = optuna.create_study()
    for attrs in ({"arch": '{"name": "a"}'}, {}, {"arch": 17}, {"arch": '{"name": "d"}'}):
        trial = study.ask()
        for name, value in attrs.items():
            trial.set_user_attr(name, value)
        study.tell(trial, 1.0)
    assert architectures(study.get_trials()) == {0: '{"name": "a"}', 3: '{"name": "d"}'}


RECORDED = [s for s in TrialState if s is not TrialState.RUNNING]


@pytest.mark.parametrize("state", RECORDED)
def test_each_state_round_trips_as_its_plain_word(state: TrialState) -> None:
    attrs = TrialRecord(state=state).to_attrs()
    assert json.loads(json.dumps(attrs)) == {"state": state.value}  # plain JSON, no enum name
    back = TrialRecord.from_attrs(json.loads(json.dumps(attrs))).state
    assert back is state and f"{back}" == state.value


def test_states_survive_an_optuna_journal(tmp_path: Path) -> None:
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(tmp_path / "study.log")))
    study = optuna.create_study(storage=storage, study_name="s")
    for state in RECORDED:
        trial = study.ask()
        record(trial, state=state)
        study.tell(trial, 1.0)
    reloaded = optuna.load_study(study_name="s", storage=optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(tmp_path / "study.log"))))
    assert [t.user_attrs["state"] for t in reloaded.trials] == [s.value for s in RECORDED]
    assert [TrialRecord.of(t).state for t in reloaded.trials] == RECORDED


def test_a_legacy_state_reads_and_is_marked_legacy() -> None:
    rec = TrialRecord.from_attrs({"state": "infeasible", "reason": "MACs 2.31M > 1.50M"})
    assert rec.state is TrialState.INFEASIBLE and rec.state.legacy
    assert (rec.finished, rec.measured) == (True, False)
    assert [s for s in TrialState if s.legacy] == [TrialState.INFEASIBLE]


def test_an_unknown_state_reads_as_absent() -> None:
    assert TrialRecord.from_attrs({"state": "exploded"}).state is None
    assert not TrialRecord.from_attrs({"state": "running"}).finished  # never a final state


def test_counts_show_a_legacy_state_only_where_a_trial_has_it() -> None:
    zero = dict.fromkeys(TRIAL_STATES, 0)
    assert list(counted_states(zero)) == ["complete", "pruned", "failed", "duplicate", "invalid"]
    assert list(counted_states({**zero, "infeasible": 2})) == [
        "complete", "pruned", "infeasible", "failed", "duplicate", "invalid"]


def _state_literals(path: Path) -> list[str]:
    words = {s.value for s in TrialState}
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Compare):  # ``x == "complete"``, ``x in ("invalid", ...)``
            operands = [c for o in [node.left, *node.comparators] for c in ast.walk(o)]
        elif isinstance(node, ast.Call):  # ``_finish(trial, "failed")`` (not a printed word)
            operands = node.args
        elif isinstance(node, ast.Dict):  # ``{"complete": "green"}``
            operands = [k for k in node.keys if k is not None]
        else:
            continue
        found += [f"{path}:{node.lineno} {c.value}" for c in operands
                  if isinstance(c, ast.Constant) and c.value in words]
    return found


def test_no_module_spells_a_state_as_a_string() -> None:
    """States are TrialState members everywhere but their definition (compared, passed, keyed)."""
    root = Path(__file__).resolve().parents[2] / "genesynth"
    own = root / "record" / "trial.py"
    found = [hit for path in sorted(root.rglob("*.py")) if path != own
             for hit in _state_literals(path)]
    assert found == []


def test_the_literal_check_sees_each_form(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text('a = s in ("x", "complete")\nf("pruned")\nd = {"failed": 1}\n'
                      'print("feasible" if a else "infeasible")\n')  # a word, not a state
    assert [hit.split(" ")[1] for hit in _state_literals(source)] == [
        "complete", "pruned", "failed"]
