"""A damaged journal never silently rewrites the family (issue 25): with study.log cut in half
resume ran new trials and replaced family.json; with it emptied or deleted it started over."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

import genesynth
from genesynth.errors import RunError
from genesynth.synth.lost import recorded_trials
from tests.synth.test_resume import _run


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lost") / "run"
    _run(out, genesynth.load_data("digits", limit=300))
    assert recorded_trials(out) == set(range(6))
    return out


def _copy(finished: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(finished, tmp_path / "run"))


def _cut_in_half(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize(("damage", "lost"), [("cut", None), ("empty", 6), ("deleted", 6)])
def test_a_study_that_lost_recorded_trials_is_not_resumed(
    finished: Path, tmp_path: Path, damage: str, lost: int | None, digits: Any
) -> None:
    run = _copy(finished, tmp_path)
    journal = run / "study.log"
    family = (run / "family.json").read_bytes()
    if damage == "cut":
        _cut_in_half(journal)
    elif damage == "empty":
        journal.write_bytes(b"")
    else:
        journal.unlink()
    with pytest.raises(RunError) as info:
        _run(run, digits, resume=True)
    message = str(info.value)
    assert message.startswith(f"{journal}: the study lost ")
    if lost is not None:
        assert f"lost {lost} of the 6 trials events.jsonl recorded (trials 0, 1, 2, 3, 4, 5)" \
            in message
    assert message.endswith("the journal was cut, emptied or deleted. Nothing was changed and "
                            "its family.json is kept as it is. To go on from the "
                            f"{6 - (lost or int(message.split('lost ')[1].split()[0]))} trials "
                            "it still holds (the old family and events are kept as "
                            "*.before-<time>), resume with --accept-lost-trials")
    assert (run / "family.json").read_bytes() == family


def test_going_on_keeps_the_old_family_aside(finished: Path, tmp_path: Path,
                                             digits: Any) -> None:
    run = _copy(finished, tmp_path)
    family = (run / "family.json").read_bytes()
    _cut_in_half(run / "study.log")
    result, _ = _run(run, digits, resume=True, accept_lost_trials=True)
    kept = sorted(p.name for p in run.iterdir() if ".before-" in p.name)
    assert [name.split(".before-")[0] for name in kept] == ["events", "family", "family"]
    assert (run / next(n for n in kept if n.endswith(".json"))).read_bytes() == family
    assert len(result.trials) == 6 and result.family  # the budget, spent again
    _run(run, digits, resume=True)  # the new events match the study: no refusal


@pytest.fixture(scope="module")
def digits() -> Any:
    return genesynth.load_data("digits", limit=300)
