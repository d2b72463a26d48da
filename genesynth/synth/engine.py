"""``synthesize``: the generator loop from a prototype, a constraint and data to a family."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import optuna
from optuna.study import StudyDirection

from genesynth.errors import RunError
from genesynth.evaluate.base import CandidateFailed, Evaluator
from genesynth.events import (
    Emitter,
    Listener,
    RunFinished,
    RunStarted,
    SearchExtended,
    WarmStarted,
    event_to_dict,
)
from genesynth.record.run import EVENTS_FILE, RunSpec, prepare_run_dir, study_url
from genesynth.synth import family as fam
from genesynth.synth import warm
from genesynth.synth.budget import claim_family, done_count, run_trials
from genesynth.synth.local import LocalStorage
from genesynth.synth.objective import Objective
from genesynth.synth.samplers import MULTI_OBJECTIVE, SpaceAware
from genesynth.synth.static import check_reachable
from genesynth.synth.storage import is_shared, open_storage
from genesynth.urls import redact

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
    cache: Any = None  # genesynth.cache.EvaluationCache, or None: measure everything
    warm_start: tuple[Path, ...] = ()  # earlier run directories to start from


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
    where = f"study {study.study_name!r} in {redact(spec.storage)}"
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
    check_reachable(setup.prototype, setup.constraint)
    started = warm.plan(setup.prototype, list(setup.warm_start)) if setup.warm_start else None
    setup.spec = prepare_run_dir(setup.out, setup.spec, resume)
    emit = Emitter([EventRecorder(setup.out / EVENTS_FILE), *listeners])
    study = open_study(setup, resume)
    spec = setup.spec
    emit(run_started(setup))
    if started is not None:
        warm.enqueue(study, started)
        emit(WarmStarted(len(started.offers), len(started.fitting), started.message(),
                         time.time()))
    objective = make_objective(setup, emit, setup.constraint)
    try:
        run_trials(study, objective, spec.trials, catch=(CandidateFailed,), told=objective.told)
        here = claim_family(study, spec.trials)
        members = finish(study, setup, emit) if here else []
    except KeyboardInterrupt:
        emit(RunFinished(str(setup.out), 0, interrupted=True, time=time.time()))
        raise RunInterrupted(setup.out) from None
    return SynthesisResult(setup.out, study, members, here)


def make_objective(setup: Setup, emit: Listener, constraint: Any, phase: int = 0) -> Objective:
    if isinstance(setup.sampler, SpaceAware):
        setup.sampler.bind(setup.prototype, constraint)
    return Objective(setup.prototype, constraint, setup.evaluator, emit,
                     multi_objective=setup.spec.sampler in MULTI_OBJECTIVE, epochs=setup.epochs,
                     latency=setup.latency, phase=phase, cache=setup.cache,
                     source=str(setup.out))


def run_started(setup: Setup) -> RunStarted:
    """The first event of a run (or of a worker): what runs, under which bounds, how long."""
    spec, rule = setup.spec, setup.constraint
    return RunStarted(
        spec.prototype_path, spec.constraint.get("path", ""), spec.data.get("spec", ""),
        spec.sampler, spec.seed, str(setup.out), spec.trials, utility=utility_name(rule),
        time=time.time(), min_accuracy=rule.min_accuracy, max_macs=rule.max_macs,
        max_params=rule.max_params, max_latency_ms=rule.max_latency_ms,
        epochs=setup.epochs if isinstance(setup.epochs, int) else 0,
        family_size=spec.family_size, full_epochs=spec.full_epochs,
    )


def utility_name(constraint: Any) -> str:
    return type(constraint.utility).__name__  # NetScore, MnasReward, ...


def finish(study: optuna.Study, setup: Setup, emit: Emitter) -> list[fam.Member]:
    """Select (widening a short family) and retrain it once, then mark the study finished."""
    chosen = widen_family(study, setup, emit)
    evaluator = setup.evaluator
    if setup.cache is not None and hasattr(evaluator, "retrain"):
        from genesynth.cache import CachedRetrain

        evaluator = CachedRetrain(evaluator, setup.cache, f"{setup.out} family")
    members = fam.retrain_family(chosen, evaluator, setup.constraint, setup.out, emit,
                                 setup.spec.full_epochs, setup.latency)
    study.set_user_attr("finished", True)
    study.set_user_attr("family_out", str(setup.out.resolve()))
    # family.json's content in the study too: `genesynth watch --storage` on any machine shows it
    study.set_user_attr("family", {"members": [m.to_dict() for m in members]})
    emit(RunFinished(str(setup.out), len(members), time=time.time()))
    return members


def widen_family(study: optuna.Study, setup: Setup, emit: Listener) -> list[fam.Candidate]:
    """Fill a short family the way AttoNets were made: search again with the MACs bound below
    the smallest member, until the family has its size or a phase adds no member.

    At most ``family_size - 1`` phases of ``max(4, trials // family_size)`` trials each, run
    by this process only (the one that makes the family); their trials carry ``phase``.
    """
    size = setup.spec.family_size
    chosen = fam.select(fam.candidates(study), size)
    per_phase = max(4, setup.spec.trials // size)
    phase = max((int(t.user_attrs.get("phase", 0)) for t in study.trials), default=0)
    while chosen and len(chosen) < size and phase < size - 1:
        phase += 1
        bound = setup.constraint.max_macs
        cap = int((1 - fam.MIN_GAP) * chosen[-1].macs)
        tighter = replace(setup.constraint, max_macs=cap if bound is None else min(bound, cap))
        total = done_count(study) + per_phase
        study.set_user_attr("planned", total)  # the trials now planned, for `genesynth watch`
        emit(SearchExtended(total, tighter.max_macs, len(chosen), phase, time.time()))
        objective = make_objective(setup, emit, tighter, phase)
        run_trials(study, objective, total, catch=(CandidateFailed,), told=objective.told)
        found = fam.select(fam.candidates(study), size)
        if len(found) <= len(chosen):
            return found
        chosen = found
    return chosen
