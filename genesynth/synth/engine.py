"""``synthesize``: the generator loop from a prototype, a constraint and data to a family."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from genesynth.evaluate.base import CandidateFailed, Evaluator
from genesynth.events import Emitter, Listener, RunFinished, RunStarted, event_to_dict
from genesynth.synth import family as fam
from genesynth.synth.budget import claim_family, run_trials
from genesynth.synth.objective import Objective
from genesynth.synth.run import EVENTS_FILE, STUDY_FILE, RunSpec, prepare_run_dir
from genesynth.synth.samplers import MULTI_OBJECTIVE

STUDY_NAME = "genesynth"


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


def open_study(setup: Setup) -> optuna.Study:
    storage = setup.spec.storage or f"sqlite:///{setup.out / STUDY_FILE}"
    multi = setup.spec.sampler in MULTI_OBJECTIVE
    study = optuna.create_study(
        storage=storage, study_name=setup.spec.study or STUDY_NAME, sampler=setup.sampler,
        pruner=setup.pruner if not multi else optuna.pruners.NopPruner(),
        directions=["maximize", "minimize", "minimize"] if multi else ["maximize"],
        load_if_exists=True,
    )
    if "run" not in study.user_attrs:
        study.set_user_attr("run", setup.spec.to_dict())
    return study


def requeue_interrupted(study: optuna.Study) -> int:
    """Fail trials an interrupted process left running and queue their choices again."""
    retried = set(study.user_attrs.get("retried", []))
    count = 0
    for t in study.get_trials(deepcopy=False):
        if t.state == TrialState.RUNNING:
            study._storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL)
        elif t.state != TrialState.FAIL or "state" in t.user_attrs:
            continue
        if t.number not in retried and t.params:
            study.enqueue_trial(t.params, skip_if_exists=False)
            retried.add(t.number)
            count += 1
    study.set_user_attr("retried", sorted(retried))
    return count


def run(setup: Setup, listeners: Sequence[Listener] = (), resume: bool = False) -> SynthesisResult:
    """Search, select and retrain; resumable from the run directory."""
    setup.spec = prepare_run_dir(setup.out, setup.spec, resume)
    emit = Emitter([EventRecorder(setup.out / EVENTS_FILE), *listeners])
    study = open_study(setup)
    if resume:
        requeue_interrupted(study)
    spec = setup.spec
    emit(RunStarted(spec.prototype_path, spec.constraint.get("path", ""),
                    spec.data.get("spec", ""), spec.sampler, spec.seed, str(setup.out),
                    spec.trials, time=time.time()))
    objective = Objective(setup.prototype, setup.constraint, setup.evaluator, emit,
                          multi_objective=spec.sampler in MULTI_OBJECTIVE, epochs=setup.epochs,
                          latency=setup.latency)
    try:
        run_trials(study, objective, spec.trials, catch=(CandidateFailed,))
        members = finish(study, setup, emit) if claim_family(study) else []
    except KeyboardInterrupt:
        emit(RunFinished(str(setup.out), 0, interrupted=True, time=time.time()))
        raise RunInterrupted(setup.out) from None
    return SynthesisResult(setup.out, study, members)


def finish(study: optuna.Study, setup: Setup, emit: Emitter) -> list[fam.Member]:
    """Select and retrain the family once, then mark the study finished."""
    chosen = fam.select(fam.candidates(study), setup.spec.family_size)
    members = fam.retrain_family(chosen, setup.evaluator, setup.constraint, setup.out, emit,
                                 setup.spec.full_epochs, setup.latency)
    study.set_user_attr("finished", True)
    emit(RunFinished(str(setup.out), len(members), time=time.time()))
    return members
