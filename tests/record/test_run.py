from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from genesynth.errors import RunError
from genesynth.record.run import RunSpec, prepare_run_dir, read_run

SPEC = RunSpec(
    prototype_path="p.gs", prototype_text="network p {}", input_shape=(1, 8, 8), classes=10,
    constraint={"bounds": {"min_accuracy": 90.0}}, data={"spec": "digits"}, seed=0,
    sampler="tpe", evaluator={"kind": "train"}, trials=10, family_size=4, full_epochs=30,
)


def test_new_run_writes_run_json_that_round_trips(tmp_path: Path) -> None:
    out = tmp_path / "run"
    prepare_run_dir(out, SPEC, resume=False)
    assert read_run(out) == SPEC


def test_same_run_again_without_resume_is_refused(tmp_path: Path) -> None:
    prepare_run_dir(tmp_path / "run", SPEC, resume=False)
    with pytest.raises(RunError) as error:
        prepare_run_dir(tmp_path / "run", SPEC, resume=False)
    assert str(error.value) == (
        f"{tmp_path / 'run'} already holds this run; pass --resume to continue it, "
        "or choose another --out"
    )


def test_different_run_is_refused_even_with_resume(tmp_path: Path) -> None:
    prepare_run_dir(tmp_path / "run", SPEC, resume=False)
    other = replace(SPEC, seed=1, prototype_text="network q {}")
    with pytest.raises(RunError) as error:
        prepare_run_dir(tmp_path / "run", other, resume=True)
    assert str(error.value) == (
        f"{tmp_path / 'run'} holds a different run (prototype_text, seed differ); "
        "choose another --out"
    )


def test_resume_may_extend_the_budget(tmp_path: Path) -> None:
    prepare_run_dir(tmp_path / "run", SPEC, resume=False)
    prepare_run_dir(tmp_path / "run", replace(SPEC, trials=20), resume=True)
    stored = read_run(tmp_path / "run")
    assert stored is not None and stored.trials == 20


def test_resume_without_a_run_and_foreign_directories_are_refused(tmp_path: Path) -> None:
    with pytest.raises(RunError, match="there is no run to resume here"):
        prepare_run_dir(tmp_path / "none", SPEC, resume=True)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(RunError, match="not empty and holds no genesynth run"):
        prepare_run_dir(tmp_path / "busy", SPEC, resume=False)
