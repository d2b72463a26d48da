"""A worker: join a synthesis whose study lives in a shared storage, and help finish it.

Everything a worker needs is stored with the study (``user_attrs["run"]``, see
docs/run-directory.md): the prototype text, the constraint, the data description, the
evaluator settings, the sampler name, the seed and the trial budget. A worker is started with
nothing but the storage URL and the study name (and the data at the same path as the first
process); it rebuilds the run, refuses to work when what it was given differs from the stored
run, and runs trials until the study's budget is spent (:mod:`genesynth.synth.trials`). The
process that completes the budget claims the family, selects it and retrains it, writing
``family.json`` in its run directory: ``--out``, by default the directory the run was started
with (recorded in the study).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from genesynth.data.described import changes
from genesynth.errors import RunError
from genesynth.events import Emitter, Listener
from genesynth.record.layout import EVENTS_FILE, FAMILY_OUT_ATTR, RUN_ATTR, RUN_FILE
from genesynth.record.run import RunSpec, read_run
from genesynth.storage import DEFAULT_HEARTBEAT, SHARED_RDB, check_shared, kind, open_storage
from genesynth.synth import family as fam
from genesynth.synth.engine import EventRecorder, drive, finish, utility_name
from genesynth.synth.locks import guard_for
from genesynth.synth.samplers import (
    SAMPLERS,
    default_pruner,
    is_multi_objective,
    resolve_sampler,
)
from genesynth.synth.setup import Held, Setup, constraint_of, setup_from_spec
from genesynth.synth.trials import claim_family, done_count, family_claim
from genesynth.urls import redact


@dataclass(frozen=True)
class WorkResult:
    """What one worker did: trials it ran, where the study stands, the family if it made it."""

    out: Path
    study: optuna.Study
    ran: int
    counted: int
    total: int
    family: list[fam.Member]
    family_here: bool
    finished_before: bool = False  # the study was done when the worker joined
    family_by: str = ""  # the worker that made its family, when finished before
    utility: str = "NetScore"  # the name of the constraint's utility (family[i].utility)
    checked: int = 0  # candidates of the fidelity check this worker trained alone


def work(
    storage: str, study: str, trials: int | None = None, listeners: Sequence[Listener] = (),
    out: str | Path | None = None, prototype: str | Path | None = None,
    constraint: str | Path | None = None, device: str = "auto",
) -> WorkResult:
    """Join study ``study`` in ``storage`` and run trials until its budget is spent (or this
    worker ran ``trials``); the worker that spends the budget makes the family.

    ``prototype`` / ``constraint`` (files), when given, must match the stored run. ``device``
    is where this worker trains (each worker picks its own). Raises RunError when the study
    cannot be used as asked.
    """
    if trials is not None and (not isinstance(trials, int) or trials < 1):
        raise RunError(f"`trials` must be a positive integer, but got trials={trials!r}")
    check_shared(storage)
    loaded, spec = load_run(storage, study, worker=True)
    check_given(spec, loaded.study_name, prototype, constraint)
    claim = family_claim(loaded, spec.trials)
    if claim is not None and claim.get("done"):  # nothing left to do: say where it is
        made = _made_before(loaded, claim, spec, out)
        return WorkResult(made.out, loaded, 0, done_count(loaded), spec.trials, [], False,
                          finished_before=True, family_by=made.by)
    setup = rebuild(loaded, spec, out, device)
    done = drive(loaded, setup, listeners, limit=trials)
    return WorkResult(setup.out, loaded, done.ran, done_count(loaded), spec.trials, done.family,
                      done.family_here, utility=utility_name(setup.constraint),
                      checked=done.checked)


@dataclass(frozen=True)
class FamilyResult:
    """``produce_family``: the family made now, or where and by whom it was (being) made."""

    out: Path
    family: list[fam.Member]
    made_now: bool
    by: str = ""
    where: str = ""
    in_progress: bool = False  # ``by`` is alive and making it now
    utility: str = "NetScore"  # the name of the constraint's utility (family[i].utility)


def produce_family(
    storage: str, study: str, out: str | Path | None = None,
    listeners: Sequence[Listener] = (), force: bool = False, device: str = "auto",
) -> FamilyResult:
    """Select and retrain the family of a finished study, unless a process did or does.

    Refused while the budget is not spent. Never adds a trial (no widening phase: selecting
    and retraining only). A claim whose holder is gone (killed while retraining) is taken
    over; ``force`` makes the family again even when it was made or a live process claimed it.
    ``device`` is where the family is retrained.
    """
    loaded, spec = load_run(storage, study, worker=False)
    counted = done_count(loaded)
    if counted < spec.trials:
        raise RunError(
            f"study {study!r} has {counted} of its {spec.trials} trials; start workers to "
            f"finish it (genesynth worker --storage URL --study {study}), they make the family"
        )
    claim = family_claim(loaded, spec.trials)
    if claim is not None and not force:
        holder = str(claim.get("worker", ""))
        if claim.get("done"):
            return _made_before(loaded, claim, spec, out)
        if guard_for(loaded).holds(holder):
            return FamilyResult(Path(out or spec.shared_out or "."), [], made_now=False,
                                by=holder, in_progress=True)
    setup = rebuild(loaded, spec, out, device)
    if not claim_family(loaded, spec.trials, force=force):
        return _made_before(loaded, family_claim(loaded, spec.trials) or {}, spec, out)
    emit = Emitter([EventRecorder(setup.out / EVENTS_FILE), *listeners])
    setup.evaluator.prepare(setup.context(emit))
    return FamilyResult(setup.out, finish(loaded, setup, emit, search=False), made_now=True,
                        utility=utility_name(setup.constraint))


def _made_before(loaded: optuna.Study, claim: dict[str, Any], spec: RunSpec,
                 out: str | Path | None) -> FamilyResult:
    where = str(loaded.user_attrs.get(FAMILY_OUT_ATTR, ""))
    folder = Path(out or where or spec.shared_out or ".")
    return FamilyResult(folder, [], made_now=False, by=str(claim.get("worker", "")), where=where)


def load_run(storage: str, study: str, worker: bool) -> tuple[optuna.Study, RunSpec]:
    """The study (opened with heartbeats on PostgreSQL/MySQL when ``worker``) and its run."""
    opened = open_storage(storage, create=False)
    names = optuna.get_all_study_names(storage=opened)
    if study not in names:
        found = ", ".join(repr(n) for n in names) or "none"
        raise RunError(
            f"{redact(storage)}: no study {study!r} (studies found: {found}); start it with "
            f"genesynth synthesize PROTOTYPE --constraint FILE --storage URL --study {study}"
        )
    stored = optuna.load_study(study_name=study, storage=opened).user_attrs.get(RUN_ATTR)
    if not isinstance(stored, dict):
        raise RunError(f"study {study!r} in {redact(storage)} holds no genesynth run; it was not "
                       "started by genesynth synthesize")
    spec = RunSpec.from_dict(stored)
    if worker and kind(storage) in SHARED_RDB:
        opened = open_storage(storage, heartbeat=spec.heartbeat or DEFAULT_HEARTBEAT)
    sampler, pruner = _sampler_and_pruner(spec)
    return optuna.load_study(study_name=study, storage=opened, sampler=sampler,
                             pruner=pruner), spec


def _sampler_and_pruner(spec: RunSpec) -> tuple[optuna.samplers.BaseSampler,
                                                 optuna.pruners.BasePruner]:
    if spec.sampler not in SAMPLERS:
        raise RunError(f"the run's sampler {spec.sampler!r} was given as an object; a worker "
                       f"can only rebuild the named ones ({', '.join(SAMPLERS)})")
    # Seeded per trial number (PerTrialSeed): workers' trials have different numbers, so
    # they never propose in lock-step, and the run stays reproducible from its seed.
    sampler, _ = resolve_sampler(spec.sampler, spec.seed, spec.trials)
    if is_multi_objective(sampler):
        return sampler, optuna.pruners.NopPruner()
    return sampler, default_pruner(_epochs(spec))


def _epochs(spec: RunSpec) -> int:
    """The pruner's warm-up needs the evaluator's steps before the evaluator is rebuilt."""
    epochs = spec.evaluator.get("epochs", 1)
    return epochs if isinstance(epochs, int) and not isinstance(epochs, bool) else 1


def check_given(spec: RunSpec, study: str, prototype: str | Path | None,
                constraint: str | Path | None) -> None:
    """Refuse a worker whose prototype or constraint files differ from the stored run."""
    from genesynth.goal.constraint import load_constraint
    from genesynth.space import load_prototype

    problems: list[str] = []
    if prototype is not None:
        text = load_prototype(prototype).text
        if text != spec.prototype_text:
            problems.append(f"prototype: {prototype} is not the run's prototype "
                            f"({spec.prototype_path}): {_first_change(spec.prototype_text, text)}")
    if constraint is not None:
        mine = load_constraint(constraint).describe()
        problems += [f"constraint {where}" for where in changes(spec.constraint, mine)]
    if problems:
        listed = "\n  ".join(problems)
        raise RunError(f"this worker differs from the run stored in study {study!r}:\n  "
                       f"{listed}\nstart it without --prototype/--constraint to use the "
                       "stored run")


def _first_change(stored: str, given: str) -> str:
    old, new = stored.splitlines(), given.splitlines()
    for number, (a, b) in enumerate(zip(old, new, strict=False), start=1):
        if a != b:
            return f"line {number} is {b.strip()!r} here, {a.strip()!r} in the run"
    return f"{len(new)} lines here, {len(old)} in the run"


def rebuild(study: optuna.Study, spec: RunSpec, out: str | Path | None,
            device: str = "auto") -> Setup:
    """The run's setup in this worker, from its stored spec: its prototype, constraint, data
    (loaded when the evaluator asks), evaluator, the study's sampler and pruner, and its run
    directory (``out``, else the run's own); networks run on ``device``, compiled as the run
    was (:func:`genesynth.synth.setup.setup_from_spec`)."""
    from genesynth.evaluate.device import resolve_device

    resolve_device(device)  # a wrong --device is refused before the run directory is made
    held = Held(constraint=constraint_of(spec, study.study_name), sampler=study.sampler,
                pruner=study.pruner)
    return setup_from_spec(spec, _run_dir(spec, out), device, held=held)


def _run_dir(spec: RunSpec, out: str | Path | None) -> Path:
    """``out`` or the run's own directory: created with run.json, or checked to hold it."""
    folder = Path(out) if out is not None else Path(spec.shared_out)
    if not str(folder) or str(folder) == ".":
        raise RunError("the run records no directory for its results; pass --out DIR")
    folder.mkdir(parents=True, exist_ok=True)
    here = read_run(folder)
    if here is None:
        if any(not p.name.startswith(".") for p in folder.iterdir()):
            raise RunError(f"{folder}: the directory is not empty and holds no genesynth run; "
                           "choose another --out")
        partial = folder / f".{RUN_FILE}.{os.getpid()}"  # other workers see all of it or none
        partial.write_text(json.dumps(spec.to_dict(), indent=2) + "\n")
        os.replace(partial, folder / RUN_FILE)
    elif here.differences(spec):
        raise RunError(f"{folder} holds a different run ({', '.join(here.differences(spec))} "
                       "differ); choose another --out")
    return folder
