"""Reading a run back from its Optuna study: locate it, load it read-only, make a snapshot.

``genesynth watch`` and ``genesynth report`` find a run either by its directory (``run.json``
and its study: ``study.log``, ``study.db`` of older runs, or the storage URL ``run.json``
records under ``"storage"``) or by a storage URL and a study name. Nothing here creates or
changes a study: a missing study or file is a
:class:`~genesynth.errors.RunError` that names what is missing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genesynth import fmt
from genesynth.errors import GenesynthError, RunError
from genesynth.events import RunFinished, RunStarted, SupernetProgress, event_from_dict
from genesynth.record.family import check_family, read_family_json
from genesynth.record.layout import (
    EVENTS_FILE,
    FAMILY_COPY_ATTR,
    FINISHED_ATTR,
    PLANNED_ATTR,
    RUN_ATTR,
    RUN_FILE,
    study_url,
)
from genesynth.record.rows import BOUNDS, Candidate, Member, TrialRow
from genesynth.record.run import read_json, settings_of
from genesynth.record.snapshot import RunState, shape_text
from genesynth.record.trial import TrialRecord, TrialState
from genesynth.urls import redact, scrub

if TYPE_CHECKING:
    import optuna


@dataclass
class RunSource:
    """Where a run lives: its directory (if any), storage URL, study name and ``run.json``."""

    storage: str
    study_name: str | None = None
    run_dir: Path | None = None
    run: dict[str, Any] = field(default_factory=dict)

    def family(self, study: Any = None) -> dict[str, Any] | None:
        """The content of ``family.json``, or None while the family is not written. A run
        found by its storage alone (no directory here) reads the copy its study keeps."""
        if self.run_dir is not None:
            return read_family_json(self.run_dir)
        attrs = getattr(study, "user_attrs", {}) if study is not None else {}
        stored = attrs.get(FAMILY_COPY_ATTR)
        if stored is None:
            return None
        return check_family(stored, f"{redact(self.storage)}: the study's copy of family.json")

    def load_study(self) -> optuna.Study:
        """Load the study without creating anything; RunError when it is not there."""
        import optuna

        from genesynth.storage import open_storage

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        storage = open_storage(self.storage, create=False)  # journal:// too; RunError if bad
        try:
            names = optuna.get_all_study_names(storage=storage)
        except Exception as exc:  # a bad URL or an unreadable database, in the user's words
            raise RunError(f"cannot read the study storage {redact(self.storage)}: "
                           f"{scrub(str(exc), self.storage)}") from None
        name = self.study_name or self.run.get("study") or None
        if name is None and len(names) == 1:
            name = names[0]
        if name is None or name not in names:
            found = ", ".join(repr(n) for n in names) or "none"
            problem = f"no study {name!r}" if name else "name the study with --study"
            raise RunError(f"{redact(self.storage)}: {problem}; studies found: {found}")
        study = optuna.load_study(study_name=name, storage=storage)
        if not self.run:
            self.run = dict(study.user_attrs.get(RUN_ATTR) or {})
        return study


def locate(
    run_dir: Path | str | None = None, storage: str | None = None, study: str | None = None
) -> RunSource:
    """Find a run by directory, or by storage URL and study name (RunError if missing)."""
    if run_dir is None:
        if storage is None:
            raise RunError("name a run directory, or a storage URL with --storage")
        _check_file(storage, "the storage")
        return RunSource(storage, study)
    path = Path(run_dir)
    if not path.is_dir():
        raise RunError(f"run directory {path} does not exist")
    run = read_json(path / RUN_FILE, required=False)
    if run is None:
        raise RunError(f"{path} is not a run directory: run.json is missing")
    url = storage or _recorded_storage(path, run.get("storage")) or study_url(path)
    _check_file(str(url), f"the study of {path}")
    return RunSource(str(url), study, path, run)


def _recorded_storage(run_dir: Path, url: object) -> str:
    """The storage ``run.json`` names: a database as it is (the study of a shared run; no
    password is ever recorded), a study file only when it lies inside the run directory."""
    if not url:
        return ""
    if not isinstance(url, str):
        raise RunError(f"{run_dir / 'run.json'}: storage must be a URL, but got {url!r}")
    for prefix in ("sqlite:///", "journal://"):
        if url.startswith(prefix):
            file = Path(url[len(prefix):].split("?", 1)[0])
            if not file.resolve().is_relative_to(run_dir.resolve()):
                raise RunError(f"{run_dir / 'run.json'} names a study file outside the run "
                               f"directory ({file}); refusing to follow it")
    return url


def _check_file(url: str, what: str) -> None:
    """Refuse a SQLite or journal URL whose file is absent: opening it would create it."""
    for prefix in ("sqlite:///", "journal://"):
        if url.startswith(prefix):
            file = Path(url[len(prefix):].split("?", 1)[0])
            if not file.is_file():
                raise RunError(f"{what} is missing: {file} does not exist")


# -- snapshot from trials -------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, Mapping):
        for key in ("path", "spec", "name", "file", "description"):
            if value.get(key):
                return str(value[key])
        return ""
    return "" if value is None else str(value)


def _int(value: Any, *keys: str) -> int:
    if isinstance(value, Mapping):
        value = next((value[k] for k in keys if k in value), None)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def apply_header(state: RunState, run: Mapping[str, Any]) -> None:
    """Header fields from ``run.json`` (strings, or objects with a path or a name)."""
    state.prototype = _text(run.get("prototype_path") or run.get("prototype"))
    state.constraint = _text(run.get("constraint"))
    state.data = _text(run.get("data"))
    state.sampler = _text(run.get("sampler"))
    seed = run.get("seed")
    state.seed = seed if isinstance(seed, int) else None
    state.out = _text(run.get("out"))
    state.planned = _int(run.get("trials"), "budget", "n_trials", "trials")
    state.utility_name = _text(run.get("utility")) or state.utility_name
    state.bounds = constraint_bounds(run.get("constraint"))
    state.epochs = run_epochs(run)
    state.family_size = _int(run.get("family_size"))
    state.family_epochs = _int(run.get("full_epochs"))
    shape, declared = run.get("input_shape"), run.get("declared_input_shape")
    if isinstance(shape, list) and all(isinstance(n, int) for n in shape):
        mine = tuple(declared) if isinstance(declared, list) else ()
        state.input_shape = shape_text(tuple(shape), mine)
    settings = settings_of(run)  # at the top of run.json, or in `extra` (older runs)
    state.device = _text(settings.get("device"))
    state.measure = _text(settings.get("measure")) or state.measure
    state.latency_source = fmt.latency_source(settings.get("latency_table"))


def constraint_bounds(constraint: Any) -> dict[str, float]:
    """The bounds a ``run.json`` constraint sets: its ``bounds`` table (or, in runs written
    before it had one, the same keys at the top)."""
    if not isinstance(constraint, Mapping):
        return {}
    table = constraint.get("bounds")
    table = table if isinstance(table, Mapping) else constraint
    return {name: table[name] for name in BOUNDS if _number(table.get(name)) is not None}


def run_epochs(run: Mapping[str, Any]) -> int:
    """Training epochs per trial, from ``run.json`` (``evaluator.epochs`` or ``epochs``)."""
    evaluator = run.get("evaluator")
    if isinstance(evaluator, Mapping) and isinstance(evaluator.get("epochs"), int):
        return int(evaluator["epochs"])
    return _int(run.get("epochs"))


def _stamp(moment: Any) -> float | None:
    return moment.timestamp() if moment is not None else None


def _modules(arch_json: Any) -> tuple[str, ...]:
    from genesynth.net.arch import Architecture
    from genesynth.net.summary import module_lines

    if not isinstance(arch_json, str):
        return ()
    try:
        return module_lines(Architecture.from_json(arch_json))
    except (GenesynthError, ValueError, TypeError):
        return ()


def _number(value: Any) -> Any:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _candidate(trial: optuna.trial.FrozenTrial, epochs: int, state: str) -> Candidate:
    rec = TrialRecord.of(trial)
    curve = [v for _, v in sorted(trial.intermediate_values.items())] or list(rec.curve or ())
    return Candidate(
        trial.number, rec.key or "", _modules(rec.arch), rec.params, rec.macs,
        max(epochs, len(curve)), len(curve), None, curve[-1] if curve else None, state,
        rec.reason or "",
    )


def trial_row(trial: optuna.trial.FrozenTrial) -> TrialRow:
    """A finished trial as the views show it, from its ``user_attrs``."""
    from optuna.trial import TrialState as OptunaState

    rec = TrialRecord.of(trial)
    fallback = {OptunaState.COMPLETE: TrialState.COMPLETE, OptunaState.PRUNED: TrialState.PRUNED
                }.get(trial.state, TrialState.FAILED)
    state = rec.state if rec.finished and rec.state is not None else fallback
    seconds = rec.seconds
    start, end = _stamp(trial.datetime_start), _stamp(trial.datetime_complete)
    if seconds is None:
        seconds = end - start if start is not None and end is not None else 0.0
    return TrialRow(
        trial.number, state, rec.accuracy, rec.params, rec.macs, rec.latency_ms, rec.utility,
        rec.feasible is True, rec.reason or "", float(seconds),
        len(trial.intermediate_values) or len(rec.curve or ()) if seconds else 0,
        rec.phase or 0, rec.reused is not None,
    )


def apply_family(state: RunState, family: Mapping[str, Any]) -> None:
    """Members of ``family.json`` as done members."""
    for item in family.get("members") or []:
        if not isinstance(item, Mapping) or "label" not in item:
            continue
        state.family[str(item["label"])] = Member(
            str(item["label"]), _number(item.get("trial")), "done",
            accuracy=_number(item.get("accuracy")), params=_number(item.get("params")),
            macs=_number(item.get("macs")), latency_ms=_number(item.get("latency_ms")),
            measured_latency_ms=_number(item.get("measured_latency_ms")),
            utility=_number(item.get("utility")), feasible=item.get("feasible"),
            reused=bool(item.get("reused")),
        )


def state_from_trials(
    state: RunState,
    trials: list[optuna.trial.FrozenTrial],
    run: Mapping[str, Any],
    family: Mapping[str, Any] | None,
    finished: bool,
    now: float | None,
) -> RunState:
    """Fill ``state`` from finished and running trials (see :func:`state_from_study`)."""
    from optuna.trial import TrialState as OptunaState

    apply_header(state, run)
    epochs = run_epochs(run)
    starts: list[float] = []
    ends: list[float] = []
    last = None
    for trial in sorted(trials, key=lambda t: t.number):
        if (start := _stamp(trial.datetime_start)) is not None:
            starts.append(start)
        if trial.state == OptunaState.RUNNING:
            state.running[trial.number] = _candidate(trial, epochs, TrialState.RUNNING)
        elif TrialRecord.of(trial).state == TrialState.SKIPPED:
            state.skipped += 1
        elif trial.state != OptunaState.WAITING:
            row = trial_row(trial)
            state.counts[row.state] += 1
            state.trials.append(row)
            last = trial
            if (end := _stamp(trial.datetime_complete)) is not None:
                ends.append(end)
    if last is not None:
        state.last = _candidate(last, epochs, state.trials[-1].state)
    state.phase = max((row.phase for row in state.trials), default=0)
    if finished:  # every trial planned ran, extra phases included
        state.planned = max(state.planned, state.done)
    state.started_at = min(starts) if starts else 0.0
    state.now = max(ends) if finished and ends else (now if now is not None else time.time())
    if family is not None:
        apply_family(state, family)
    state.finished = finished
    return state


def state_from_study(
    study: Any,
    run: Mapping[str, Any],
    family: Mapping[str, Any] | None = None,
    now: float | None = None,
) -> RunState:
    """A snapshot from an Optuna study (or a list of ``FrozenTrial``) and ``run.json``.

    Finished trials come from their ``user_attrs`` (docs/run-directory.md); RUNNING trials are
    the current candidates. ``family`` is the content of ``family.json`` when it exists. The
    run counts as finished when ``family`` is given or the study's ``user_attrs["finished"]``
    is true. The trials planned are the run's, or the study's ``planned`` once an extra phase
    raised them.
    """
    trials = study.get_trials(deepcopy=False) if hasattr(study, "get_trials") else study
    attrs = getattr(study, "user_attrs", {}) or {}
    finished = bool(attrs.get(FINISHED_ATTR)) or family is not None
    state = state_from_trials(RunState(), list(trials), run, family, finished, now)
    planned = attrs.get(PLANNED_ATTR)
    if isinstance(planned, int) and not isinstance(planned, bool):
        state.planned = max(state.planned, planned)
    return state


CHUNK = 64 * 2**20
"""The most bytes of ``events.jsonl`` read per poll (a file of 20 GB without a newline would
otherwise be read whole)."""


class SupernetLog:
    """What the study does not hold, as the run directory's ``events.jsonl`` records it, for a
    view that rebuilds a run from its study (``watch``): the supernet's training before the
    trials, and each start (its time) and end (interrupted or not) of the run's processes.
    Each :meth:`read` takes the lines written since the last one; a line of another event, or
    not an event at all (a line still being written), is passed over.
    """

    def __init__(self, run_dir: Path | None) -> None:
        self.path = run_dir / EVENTS_FILE if run_dir is not None else None
        self.offset = 0
        self.events: list[SupernetProgress | RunStarted | RunFinished] = []

    def read(self) -> list[SupernetProgress | RunStarted | RunFinished]:
        """Every supernet, start and end event so far, in the order written."""
        if self.path is None or not self.path.is_file():
            return self.events
        with self.path.open("rb") as stream:
            stream.seek(self.offset)
            chunk = stream.read(CHUNK)  # at most this much a call: the rest comes next time
        complete = chunk.rfind(b"\n") + 1  # a line being written waits for the next read
        self.offset += complete
        for line in chunk[:complete].splitlines():
            if any(name in line for name in KEPT):
                event = _supernet_event(line)
                if event is not None:
                    self.events.append(event)
        return self.events


KEPT = (b'"SupernetProgress"', b'"RunStarted"', b'"RunFinished"')


def _supernet_event(line: bytes) -> SupernetProgress | RunStarted | RunFinished | None:
    try:
        event = event_from_dict(json.loads(line))
    except (ValueError, TypeError, KeyError):  # a damaged line says nothing of the phase
        return None
    return event if isinstance(event, SupernetProgress | RunStarted | RunFinished) else None


def apply_log(state: RunState, events: list[SupernetProgress | RunStarted | RunFinished]
              ) -> None:
    """The run's own events on a snapshot made from its study: the supernet's training; the
    first start (elapsed counts from it, also before any trial); an interrupt after the last
    start (the run is not going on, and its ETA is not a promise)."""
    stopped: RunFinished | None = None
    for event in events:
        if isinstance(event, RunStarted):
            if event.time and (not state.started_at or event.time < state.started_at):
                state.started_at = event.time
            stopped = None
        elif isinstance(event, RunFinished):
            stopped = event if event.interrupted else None
        else:
            state.apply(event)
    if stopped is not None and not state.finished:
        state.finished = state.interrupted = True
        state.now = max(stopped.time, state.started_at)
