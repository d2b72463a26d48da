"""``synthesize``: the generator loop from a prototype, a constraint and data to a family."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import optuna
from optuna.study import StudyDirection

from genesynth import fmt
from genesynth.errors import RunError
from genesynth.evaluate.base import CandidateFailed, Evaluator
from genesynth.events import (
    Emitter,
    Listener,
    RunFinished,
    RunResumed,
    RunStarted,
    SearchEnded,
    WarmStarted,
    event_to_dict,
)
from genesynth.goal.constraint import Constraint
from genesynth.record.family import read_family_json, verified_weights
from genesynth.record.layout import (
    EVENTS_FILE,
    FAMILY_COPY_ATTR,
    FAMILY_OUT_ATTR,
    FINISHED_ATTR,
    RUN_ATTR,
    study_url,
)
from genesynth.record.reader import trial_row
from genesynth.record.run import RunSpec, prepare_run_dir
from genesynth.storage import StorageLost, is_shared, kind, open_storage
from genesynth.synth import family as fam
from genesynth.synth import warm
from genesynth.synth.checks import FAMILY_BEAT_ATTR
from genesynth.synth.fidelity import check_evaluator, help_checks
from genesynth.synth.locks import guard_for, worker_id
from genesynth.synth.lost import check_lost
from genesynth.synth.objective import Objective
from genesynth.synth.samplers import SAMPLERS, SpaceAware
from genesynth.synth.setup import Setup
from genesynth.synth.static import check_reachable
from genesynth.synth.trials import (
    EXHAUSTED_ATTR,
    SearchExhausted,
    claim_family,
    counted,
    done_count,
    family_claim,
    family_made,
    replaced,
    run_trials,
)
from genesynth.synth.widen import (
    Phase,
    first_family,
    retrained_phases,
    widen_family,
    widen_retrained,
)
from genesynth.synth.writebehind import LocalStorage
from genesynth.urls import redact

STUDY_NAME = "genesynth"
MAXIMIZE, MINIMIZE = StudyDirection.MAXIMIZE, StudyDirection.MINIMIZE


class RunInterrupted(Exception):
    """Ctrl-C: the finished trials are stored; the run can be resumed."""

    def __init__(self, out: Path, kept: str = "") -> None:
        super().__init__(f"interrupted; resume with --resume --out {out}")
        self.out = out
        self.kept = kept  # what the evaluator keeps of its own work (a supernet's training)


@dataclass(frozen=True)
class SynthesisResult:
    out: Path
    study: optuna.Study
    family: list[fam.Member]
    family_here: bool = True  # False when another worker of a shared study made the family
    finished_before: bool = False  # a resumed run whose family was already made
    family_out: Path | None = None  # where family.json is, when finished before
    utility: str = "NetScore"  # the name of the constraint's utility (family[i].utility)

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


def device_of(setup: Setup) -> str:
    """Where the evaluator runs networks in this process, for the dashboard ("" for none)."""
    return str(setup.evaluator.device_info(setup.context()).get("device", ""))


def open_study(setup: Setup, resume: bool = False) -> optuna.Study:
    """The run's study: on a shared storage as it is; in the run directory (or SQLite) held in
    memory with each finished trial written once (LocalStorage)."""
    url = setup.spec.storage or study_url(setup.out)
    multi = setup.multi_objective
    name = setup.spec.study or STUDY_NAME
    directions = [MAXIMIZE, MINIMIZE, MINIMIZE] if multi else [MAXIMIZE]
    storage = open_storage(url, heartbeat=setup.spec.heartbeat)
    if not setup.spec.storage or not is_shared(url):
        storage = LocalStorage(storage, name, directions)
    study = optuna.create_study(
        storage=storage, study_name=name, sampler=setup.sampler,
        pruner=setup.pruner if not multi else optuna.pruners.NopPruner(),
        directions=directions, load_if_exists=True,
    )
    stored = study.user_attrs.get(RUN_ATTR)
    if stored is None:
        study.set_user_attr(RUN_ATTR, setup.spec.to_dict())
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
        study.set_user_attr(RUN_ATTR, {**stored.to_dict(), "trials": spec.trials})


def run(setup: Setup, listeners: Sequence[Listener] = (), resume: bool = False,
        accept_lost_trials: bool = False) -> SynthesisResult:
    """Search, select and retrain; resumable from the run directory.

    A resumed run continues where it stopped: a named sampler is seeded per trial number or
    never proposes what the study holds (``samplers``), an object is re-seeded; a family
    whose retraining was killed is made again; a run whose family is made returns it without
    starting anything (``finished_before``). A local study that lost trials its events
    recorded is refused unless ``accept_lost_trials`` (:mod:`genesynth.synth.lost`).
    """
    check_reachable(setup.prototype, setup.constraint)
    started = warm.plan(setup.prototype, list(setup.warm_start)) if setup.warm_start else None
    setup.spec = prepare_run_dir(setup.out, setup.spec, resume)
    study = open_study(setup, resume)
    spec = setup.spec
    if resume and (not spec.storage or not is_shared(spec.storage)
                   or kind(spec.storage) == "journal"):
        check_lost(study, setup.out, accept_lost_trials)  # before the family is looked at
    if resume:
        made = made_family(study, setup)
        if made is not None:
            return made
        if spec.sampler not in SAMPLERS and done_count(study):
            study.sampler.reseed_rng()  # an object: at least never its first trials again
    local = not spec.storage or not is_shared(spec.storage)
    try:
        # A local run has no other process that could hold the family claim.
        done = drive(study, setup, listeners, started=started, force_claim=local)
    except KeyboardInterrupt:
        raise RunInterrupted(setup.out, setup.evaluator.kept()) from None
    except StorageLost as lost:
        lost.out = setup.out  # the command line says how to resume
        raise
    return SynthesisResult(setup.out, study, done.family, done.family_here,
                           utility=utility_name(setup.constraint))


@dataclass(frozen=True)
class Driven:
    """What :func:`drive` did in this process."""

    ran: int  # trials run here
    family: list[fam.Member]
    family_here: bool  # this process made the family
    checked: int = 0  # candidates of the family maker's fidelity check trained here


def drive(study: optuna.Study, setup: Setup, listeners: Sequence[Listener] = (),
          limit: int | None = None, started: warm.WarmStart | None = None,
          force_claim: bool = False) -> Driven:
    """The work of one process on a run, shared by ``synthesize`` and ``worker``.

    Announces the run (and queues the ``started`` warm-start trials), prepares the evaluator,
    runs trials until the study's budget is spent (or this process ran ``limit``), and makes
    the family when this process claims it (``force_claim``: no other process can hold it);
    else, unless it ran its ``limit``, it trains candidates of the family maker's fidelity
    check (:func:`genesynth.synth.fidelity.help_checks`). On Ctrl-C it announces the
    interruption and re-raises ``KeyboardInterrupt``.
    """
    spec = setup.spec
    emit = Emitter([EventRecorder(setup.out / EVENTS_FILE), *listeners])
    done = done_count(study)
    emit(run_started(setup, done))
    if done:  # resumed, or joining: the views show the trials finished before
        emit(resumed(study))
    if started is not None:
        warm.enqueue(study, started)
        emit(WarmStarted(len(started.offers), len(started.fitting), started.message(),
                         time.time()))
    try:
        setup.evaluator.prepare(setup.context(emit))
        objective = make_objective(setup, emit, setup.constraint)
        try:
            ran = run_trials(study, objective, spec.trials, catch=(CandidateFailed,),
                             limit=limit, told=objective.told)
        except SearchExhausted as ended:  # every network inside the bounds is tried
            ran = ended.ran
            study.set_user_attr(EXHAUSTED_ATTR, ended.reason)
            emit(SearchEnded(done_count(study), spec.trials, ended.reason, time.time()))
        here = claim_family(study, spec.trials, force=force_claim)
        members = finish(study, setup, emit) if here else []
        left = limit is not None and ran >= limit  # ran what it was asked: it leaves
        checked = 0 if here or left else help_checks(study, setup)  # the maker's check, shared
    except KeyboardInterrupt:
        emit(RunFinished(str(setup.out), 0, interrupted=True, time=time.time()))
        raise
    if not here:
        emit(RunFinished(str(setup.out), 0, time=time.time()))
    return Driven(ran, members, here, checked)


def resumed(study: optuna.Study) -> RunResumed:
    """The trials that count in the study's budget, as the views show them."""
    trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
    gone = replaced(trials)
    return RunResumed(tuple(asdict(trial_row(t)) for t in trials if counted(t, gone)),
                      time.time())


def made_family(study: optuna.Study, setup: Setup) -> SynthesisResult | None:
    """A run whose family is made (for its budget, and ``family.json`` still there): the
    family as written, without starting anything; None when there is work left."""
    claim = family_claim(study, setup.spec.trials)
    if claim is None or not claim.get("done"):
        return None
    shared = bool(setup.spec.storage) and is_shared(setup.spec.storage)
    where = Path(str(study.user_attrs.get(FAMILY_OUT_ATTR) or setup.out)) if shared else setup.out
    members = fam.read_family(where)  # RunError when damaged
    if members is None and where.resolve() == setup.out.resolve():
        return None  # family.json was deleted: make it again
    if members is None:  # made on another machine: the study keeps its content too
        members = fam.parse_family(study.user_attrs.get(FAMILY_COPY_ATTR))
    elif where.resolve() == setup.out.resolve():
        for member in members:  # the weights are the ones the run wrote
            verified_weights(where, member, member.label)
    return SynthesisResult(setup.out, study, members or [], family_here=False,
                           finished_before=True, family_out=where,
                           utility=utility_name(setup.constraint))


def make_objective(setup: Setup, emit: Listener, constraint: Constraint, phase: int = 0
                   ) -> Objective:
    constraint = search_rule(constraint, setup.evaluator)
    if isinstance(setup.sampler, SpaceAware):
        setup.sampler.bind(setup.prototype, constraint, family_size=setup.spec.family_size)
    return Objective(setup.prototype, constraint, setup.evaluator, emit,
                     multi_objective=setup.multi_objective, epochs=setup.epochs,
                     latency=setup.latency, phase=phase, cache=setup.cache,
                     source=str(setup.out))


def search_rule(constraint: Constraint, evaluator: Evaluator) -> Constraint:
    """The bounds a search trial is judged by: the constraint's, less the accuracy bound when
    the evaluator's accuracy is not a stand-alone top-1 (``Evaluator.stand_alone``: a
    supernet's score); the family is checked against the whole constraint after training."""
    if evaluator.stand_alone or constraint.min_accuracy is None:
        return constraint
    return replace(constraint, min_accuracy=None)


def run_started(setup: Setup, done: int = 0) -> RunStarted:
    """The first event of a run (or of a worker): what runs, under which bounds, how long,
    for which input shape, and how many trials a resumed run had already finished."""
    spec, rule = setup.spec, setup.constraint
    return RunStarted(
        spec.prototype_path, spec.constraint.get("path", ""), spec.data.get("spec", ""),
        spec.sampler, spec.seed, str(setup.out), spec.trials, utility=utility_name(rule),
        time=time.time(), min_accuracy=rule.min_accuracy, max_macs=rule.max_macs,
        max_params=rule.max_params, max_latency_ms=rule.max_latency_ms,
        epochs=setup.epochs if isinstance(setup.epochs, int) else 0,
        family_size=spec.family_size, full_epochs=spec.full_epochs,
        done=done, input_shape=tuple(spec.input_shape),
        declared_shape=tuple(spec.declared_input_shape),
        device=device_of(setup),
        measure=spec.measure,
        latency_source=fmt.latency_source(spec.latency_table),
    )


def utility_name(constraint: Constraint) -> str:
    return type(constraint.utility).__name__  # NetScore, MnasReward, ...


def finish(study: optuna.Study, setup: Setup, emit: Emitter, search: bool = True
           ) -> list[fam.Member]:
    """Select (widening a short family, unless ``search`` is False: then no trial is added)
    and retrain it once, then mark the family made and the study finished."""
    beat = {"worker": worker_id()}  # workers waiting for the check see this process alive
    with guard_for(study).claim_beat(study, FAMILY_BEAT_ATTR, beat):
        return _finish(study, setup, emit, search)


def _finish(study: optuna.Study, setup: Setup, emit: Emitter, search: bool) -> list[fam.Member]:
    def one_phase(phase: Phase) -> str | None:
        return _search(study, setup, emit, phase)

    chosen = (widen_family(study, setup, emit, one_phase) if search
              else first_family(study, setup))
    evaluator = setup.evaluator
    if setup.cache is not None:
        from genesynth.evaluate.cache import CachedRetrain

        evaluator = CachedRetrain(evaluator, setup.cache, f"{setup.out} family")

    def retrain(chosen: list[fam.Candidate], spares: list[list[fam.Candidate]],
                done: list[fam.Member]) -> list[fam.Member]:
        before = (read_family_json(setup.out) or {}).get("dropped", []) if done else []
        return fam.retrain_family(chosen, spares, evaluator, setup.constraint, setup.out, emit,
                                  setup.spec.full_epochs, setup.latency, done, before)

    found = fam.candidates(study, retrained_phases(study, setup))
    members = retrain(chosen, fam.alternates(found, chosen, setup.spec.family_size), [])
    if len(members) < len(chosen):  # retraining dropped members: search below those it kept
        members = widen_retrained(study, setup, emit, members, retrain,
                                  one_phase if search else None)
    study.set_user_attr(FAMILY_OUT_ATTR, str(setup.out.resolve()))
    # family.json's content in the study too: `genesynth watch --storage` on any machine shows it
    study.set_user_attr(FAMILY_COPY_ATTR, {"members": [m.to_dict() for m in members]})
    check_evaluator(study, setup, members, emit)  # stand_alone = False: how well it ranked
    family_made(study, setup.spec.trials)
    study.set_user_attr(FINISHED_ATTR, True)
    emit(RunFinished(str(setup.out), len(members), time=time.time()))
    return members


def _search(study: optuna.Study, setup: Setup, emit: Listener, phase: Phase) -> str | None:
    """One widening phase: trials until the study counts ``phase.trials``, MACs tightened;
    why it stopped early when the sampler has no untried network left under the bound."""
    tighter = replace(setup.constraint, max_macs=phase.max_macs, min_macs=phase.min_macs)
    objective = make_objective(setup, emit, tighter, phase.number)
    try:
        run_trials(study, objective, phase.trials, catch=(CandidateFailed,),
                   told=objective.told)
    except SearchExhausted as ended:  # raised while asking: the asked trial never started
        return ended.reason
    return None
