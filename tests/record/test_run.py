from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from genesynth.errors import RunError
from genesynth.record.run import SETTINGS, RunSpec, prepare_run_dir, read_run, settings_of

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


#: run.json as genesynth wrote it before the run's settings were typed: in an `extra` object.
OLD_RUN_JSON = """{
  "prototype_path": "p.gs",
  "prototype_text": "network p {}",
  "input_shape": [1, 8, 8],
  "classes": 10,
  "constraint": {"bounds": {"min_accuracy": 90.0}},
  "data": {"spec": "digits"},
  "seed": 0,
  "sampler": "tpe",
  "evaluator": {"kind": "train"},
  "trials": 10,
  "family_size": 4,
  "full_epochs": 30,
  "storage": "journal:///runs/shared.log",
  "study": "s",
  "extra": {"out": "/runs/p", "heartbeat": 10, "device": "cuda:0 (NVIDIA H100 80GB HBM3)",
            "compile": true, "measure": "score",
            "latency_table": {"path": "phone.json", "ops": 12, "runtime": "onnxruntime"}},
  "declared_input_shape": []
}
"""

TYPED = replace(SPEC, storage="journal:///runs/shared.log", study="s", shared_out="/runs/p",
                heartbeat=10, device="cuda:0 (NVIDIA H100 80GB HBM3)", compile=True,
                measure="score",
                latency_table={"path": "phone.json", "ops": 12, "runtime": "onnxruntime"})


def test_an_older_run_json_with_extra_reads_as_the_same_spec(tmp_path: Path) -> None:
    (tmp_path / "run.json").write_text(OLD_RUN_JSON)
    assert read_run(tmp_path) == TYPED
    new = tmp_path / "new"
    prepare_run_dir(new, TYPED, resume=False)  # written now: the settings at the top
    written = json.loads((new / "run.json").read_text())
    assert "extra" not in written
    assert {k: written[k] for k in SETTINGS} == {
        "shared_out": "/runs/p", "heartbeat": 10, "device": "cuda:0 (NVIDIA H100 80GB HBM3)",
        "compile": True, "measure": "score",
        "latency_table": {"path": "phone.json", "ops": 12, "runtime": "onnxruntime"}}
    assert read_run(new) == TYPED
    old = json.loads(OLD_RUN_JSON)
    assert settings_of(old) == settings_of(written) == TYPED.settings()


def test_an_older_run_json_without_settings_takes_the_defaults(tmp_path: Path) -> None:
    old = json.loads(OLD_RUN_JSON)
    old["extra"] = {}
    (tmp_path / "run.json").write_text(json.dumps(old))
    spec = read_run(tmp_path)
    assert spec is not None
    assert spec.settings() == {"shared_out": "", "heartbeat": None, "device": "",
                               "compile": False, "measure": "top-1", "latency_table": None}


def test_a_setting_of_the_wrong_type_is_refused(tmp_path: Path) -> None:
    old = json.loads(OLD_RUN_JSON)
    old["extra"]["heartbeat"] = "ten"
    (tmp_path / "run.json").write_text(json.dumps(old))
    with pytest.raises(RunError) as error:
        read_run(tmp_path)
    assert str(error.value) == ("the run description is incomplete or damaged "
                                "('heartbeat' must be int, got 'ten')")
    written = SPEC.to_dict() | {"compile": "yes"}
    with pytest.raises(RunError, match=r"'compile' must be bool, got 'yes'"):
        RunSpec.from_dict(written)


def test_watch_and_report_read_the_settings_of_either_form() -> None:
    from genesynth.record.reader import apply_header
    from genesynth.record.snapshot import RunState

    old, new = RunState(), RunState()
    apply_header(old, json.loads(OLD_RUN_JSON))
    apply_header(new, TYPED.to_dict())
    for state in (old, new):
        assert (state.device, state.measure, state.latency_source, state.out) == (
            "cuda:0 (NVIDIA H100 80GB HBM3)", "score", "predicted by phone.json (onnxruntime)",
            "")
