"""``synthesize``: the generator loop from a prototype, a constraint and data to a family."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.study import StudyDirection

from genesynth.errors import RunError
from genesynth.evaluate.base import CandidateFailed, Evaluator
from genesynth.events import Emitter, Listener, RunFinished, RunStarted, event_to_dict
from genesynth.synth import family as fam
from genesynth.synth.budget import claim_family, run_trials
from genesynth.synth.local import LocalStorage
from genesynth.synth.objective import Objective
from genesynth.synth.run import EVENTS_FILE, RunSpec, prepare_run_dir, study_url
from genesynth.synth.samplers import MULTI_OBJECTIVE
from genesynth.synth.storage import is_shared, open_storage

STUDY_NAME = "genesynth"
MAXIMIZE, MINIMIZE = StudyDirection.MAXIMIZE, StudyDirection.MINIMIZE


class RunInterrupted(Exception):
    """Ctrl-C: the finished trials are stored; the run can be resumed."""

    def __init__(self, out: Path) -> None:
        super().__init__(f"interrupted; resume with --resume --out {out}")
        self.out = out


@dataclass(frozen=True)
class SynthesisResult:
    out: Path
    study: optuna.Study
    family: list[fam.Member]
    family_here: bool = True  # False when another worker of a shared study made the family

    @property
    def trials(self) -> list[optuna.trial.FrozenTrial]:
        return self.study.get_trials(deepcopy=False)


class EventRecorder:
    """Appends every event to ``events.jsonl`` in the run directory."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, event: Any) -> None:
        with self.path.open("a") as stream:
            stream.write(json.dumps(event_to_dict(event)) + "\n")


@dataclass
class Setup:
    """Everything a run needs, resolved from the user's arguments (see ``genesynth.api``)."""

    spec: RunSpec
    prototype: Any
    constraint: Any
    evaluator: Evaluator
    out: Path
    sampler: optuna.samplers.BaseSampler
    pruner: optuna.pruners.BasePruner | None
    epochs: int
    latency: Any = None


def open_study(setup: Setup, resume: bool = False) -> optuna.Study:
    """The run's study: on a shared storage as it is; in the run directory (or SQLite) held in
    memory with each finished trial written once (LocalStorage)."""
    url = setup.spec.storage or study_url(setup.out)
    multi = setup.spec.sampler in MULTI_OBJECTIVE
    name = setup.spec.study or STUDY_NAME
    directions = [MAXIMIZE, MINIMIZE, MINIMIZE] if multi else [MAXIMIZE]
    storage = open_storage(url, heartbeat=setup.spec.extra.get("heartbeat"))
    if not setup.spec.storage or not is_shared(url):
        storage = LocalStorage(storage, name, directions)
    study = optuna.create_study(
        storage=storage, study_name=name, sampler=setup.sampler,
        pruner=setup.pruner if not multi else optuna.pruners.NopPruner(),
        directions=directions, load_if_exists=True,
    )
    stored = study.user_attrs.get("run")
    if stored is None:
        study.set_user_attr("run", setup.spec.to_dict())
    elif setup.spec.storage:
        _check_stored(study, setup.spec, RunSpec.from_dict(stored), resume)
    return study


def _check_stored(study: optuna.Study, spec: RunSpec, stored: RunSpec, resume: bool) -> None:
    """A study in a named storage that already holds a run: the same run, on --resume only."""
    where = f"study {study.study_name!r} in {spec.storage}"
    differences = spec.differences(stored)
    if differences:
        raise RunError(f"{where} holds a different run ({', '.join(differences)} differ); "
                       "choose another --study")
    if not resume:
        raise RunError(f"{where} already holds this run; add workers with `genesynth worker "
                       f"--storage URL --study {study.study_name}`, or pass --resume")
    if spec.trials != stored.trials:
        study.set_user_attr("run", {**stored.to_dict(), "trials": spec.trials})


def run(setup: Setup, listeners: Sequence[Listener] = (), resume: bool = False) -> SynthesisResult:
    """Search, select and retrain; resumable from the run directory."""
    setup.spec = prepare_run_dir(setup.out, setup.spec, resume)
    emit = Emitter([EventRecorder(setup.out / EVENTS_FILE), *listeners])
    study = open_study(setup, resume)
    spec = setup.spec
    emit(RunStarted(spec.prototype_path, spec.constraint.get("path", ""),
                    spec.data.get("spec", ""), spec.sampler, spec.seed, str(setup.out),
                    spec.trials, utility=_utility_name(setup.constraint), time=time.time()))
    objective = Objective(setup.prototype, setup.constraint, setup.evaluator, emit,
                          multi_objective=spec.sampler in MULTI_OBJECTIVE, epochs=setup.epochs,
                          latency=setup.latency)
    try:
        run_trials(study, objective, spec.trials, catch=(CandidateFailed,), told=objective.told)
        here = claim_family(study, spec.trials)
        members = finish(study, setup, emit) if here else []
    except KeyboardInterrupt:
        emit(RunFinished(str(setup.out), 0, interrupted=True, time=time.time()))
        raise RunInterrupted(setup.out) from None
    return SynthesisResult(setup.out, study, members, here)


def _utility_name(constraint: Any) -> str:
    return type(constraint.utility).__name__  # NetScore, MnasReward, ...


def finish(study: optuna.Study, setup: Setup, emit: Emitter) -> list[fam.Member]:
    """Select and retrain the family once, then mark the study finished."""
    chosen = fam.select(fam.candidates(study), setup.spec.family_size)
    members = fam.retrain_family(chosen, setup.evaluator, setup.constraint, setup.out, emit,
                                 setup.spec.full_epochs, setup.latency)
    study.set_user_attr("finished", True)
    study.set_user_attr("family_out", str(setup.out.resolve()))
    emit(RunFinished(str(setup.out), len(members), time=time.time()))
    return members
