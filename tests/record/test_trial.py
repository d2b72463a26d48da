"""The trial record: exact round-trips through Optuna user_attrs, tolerant reading."""

from __future__ import annotations

import optuna
import pytest

from genesynth.record.trial import TrialRecord, architectures, record

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
