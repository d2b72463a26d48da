"""The trial budget of a study and the one-time family claim, exact across processes.

A trial *counts* against the budget once it finished with a genesynth state (complete,
pruned, failed, duplicate, invalid: the ``state`` user attr) and was not replaced by a retry.
A ``skipped`` sample (outside the static bounds, known before any evaluation) never counts.
A trial an interrupted or killed process left behind does not count; its choices are tried
again (a WAITING trial made by Optuna's ``RetryHeartbeatStaleTrialCallback``).

Why the budget is exact with any number of workers. Every worker takes the study's claim lock
(:mod:`genesynth.synth.locks`) around::

    reap stale trials (fail + queue again);  count counted C and running R trials;
    if C + R < total: pop a WAITING trial, else create one;  mark it ours (worker, heartbeat)

so ``C + R <= total`` holds whenever the lock is free: a trial is only started into a free
slot, a running trial only becomes counted (same sum) or stale (the sum drops, and its retry
waits for a free slot like any other trial). Hence at most ``total`` trials ever count. A
worker stops when ``C + R >= total`` and ``R == 0``, i.e. ``C == total``; while others still
run the last trials it waits and reaps, so the retry of a trial whose worker dies at the very
end is still run by someone. Optuna's ``MaxTrialsCallback`` checks after the fact and lets
every worker that started at the same moment overshoot.
"""

from __future__ import annotations

import enum
import logging
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from genesynth.errors import ConstraintError
from genesynth.record.layout import FINISHED_ATTR
from genesynth.record.trial import TrialRecord
from genesynth.record.trial import TrialState as Outcome
from genesynth.storage.optuna_private import storage_of, trial_id
from genesynth.synth.locks import Guard, guard_for, worker_id

#: Study user attr: ``{"worker": ..., "time": ...}`` once a process has claimed the family.
FAMILY_ATTR = "family_claimed"
#: Study user attr: why the search ended before its budget (no untried network was left).
EXHAUSTED_ATTR = "search_exhausted"

_log = logging.getLogger(__name__)


def replaced(trials: Iterable[FrozenTrial]) -> frozenset[int]:
    """Numbers of trials that a retry replaced (their worker died; they never count)."""
    numbers: set[int] = set()
    for t in trials:
        numbers.update(int(n) for n in t.system_attrs.get("retry_history", ()))
    return frozenset(numbers)


def counted(trial: FrozenTrial, replaced_numbers: frozenset[int] = frozenset()) -> bool:
    """A trial that used up budget: finished with a genesynth state (a sample skipped outside
    the static bounds costs none), and not retried."""
    return (
        trial.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
        and TrialRecord.of(trial).finished
        and trial.number not in replaced_numbers
    )


@dataclass(frozen=True)
class Tally:
    """The budget's view of a study: counted, running and waiting trials."""

    counted: int
    running: int
    waiting: int

    @staticmethod
    def of(trials: list[FrozenTrial]) -> Tally:
        gone = replaced(trials)
        return Tally(
            counted=sum(1 for t in trials if counted(t, gone)),
            running=sum(1 for t in trials if t.state == TrialState.RUNNING),
            waiting=sum(1 for t in trials if t.state == TrialState.WAITING),
        )


def done_count(study: optuna.Study) -> int:
    return Tally.of(study.get_trials(deepcopy=False)).counted


class SearchExhausted(Exception):
    """The sampler has no untried network left inside the bounds (it raised
    ``ConstraintError`` while asking): the search ends before its budget. ``ran``: the trials
    this process ran before."""

    def __init__(self, reason: str, ran: int = 0) -> None:
        super().__init__(reason)
        self.reason, self.ran = reason, ran


def exhausted(study: optuna.Study) -> str | None:
    """Why the study's main search ended before its budget, or None."""
    reason = study.user_attrs.get(EXHAUSTED_ATTR)
    return str(reason) if reason else None


class Claim(enum.Enum):
    """No trial for this worker now: wait for the running ones, or the budget is spent."""

    WAIT = "wait"
    DONE = "done"


def claim_trial(study: optuna.Study, total: int, guard: Guard) -> optuna.Trial | Claim:
    """Under the study's lock: the next trial for this worker (a retry first), or why not."""
    with guard.lock():
        guard.reap(study)
        tally = Tally.of(study.get_trials(deepcopy=False))
        if tally.counted + tally.running >= total:
            # One process alone: nothing else can be running, so there is nothing to wait for.
            return Claim.WAIT if tally.running and guard.shared else Claim.DONE
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Heartbeat of storage")
            try:
                trial = study.ask()  # pops a WAITING trial if there is one, else creates one
            except ConstraintError as error:  # the sampler found no untried network
                _drop_unasked(study)
                raise SearchExhausted(str(error)) from None
        guard.adopt(study, trial)
        return trial


def _drop_unasked(study: optuna.Study) -> None:
    """The trial ``study.ask`` created before its sampler raised: no worker adopted it (no
    user attrs), nothing ran; it is marked skipped (never counted) and failed."""
    storage = storage_of(study)
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if not t.user_attrs:
            storage.set_trial_user_attr(trial_id(t), "state", Outcome.SKIPPED.value)
            storage.set_trial_user_attr(trial_id(t), "reason", "no untried network was left")
            study.tell(t.number, state=TrialState.FAIL)


def run_trials(study: optuna.Study, objective: Callable[[optuna.Trial], Any], total: int,
               catch: tuple[type[Exception], ...], *, limit: int | None = None,
               told: Callable[[optuna.Trial], None] | None = None) -> int:
    """Run trials in this process until the study has ``total`` counted trials, or this
    process has run ``limit``; returns how many this process ran. ``told(trial)`` is
    called once a trial's result is stored. Raises :class:`SearchExhausted` (with the count)
    when the sampler has no untried network left."""
    guard = guard_for(study)
    ran = 0
    while limit is None or ran < limit:
        try:
            claim = claim_trial(study, total, guard)
        except SearchExhausted as ended:
            raise SearchExhausted(ended.reason, ran) from None
        if claim is Claim.DONE:
            break
        if isinstance(claim, Claim):  # WAIT: others run the last trials; one may die
            time.sleep(guard.poll)
            continue
        with guard.beat(study, claim):
            stored = _run_one(study, claim, objective, catch, guard)
        if stored and told is not None:
            told(claim)
        ran += 1
    return ran


def _run_one(study: optuna.Study, trial: optuna.Trial, objective: Callable[[optuna.Trial], Any],
             catch: tuple[type[Exception], ...], guard: Guard) -> bool:
    """Evaluate and tell, as ``study.optimize`` would; an interrupt hands the trial back.
    True when this process stored the trial's result."""
    values: Any = None
    try:
        values = objective(trial)
        state = TrialState.COMPLETE
    except optuna.TrialPruned:
        state = TrialState.PRUNED
    except optuna.exceptions.UpdateFinishedTrialError:
        _log.warning("trial %d was declared dead by another worker; it is run again",
                     trial.number)
        return False
    except catch as error:
        _log.info("trial %d failed: %s", trial.number, error)
        state = TrialState.FAIL
    except (KeyboardInterrupt, SystemExit):
        with guard.lock():
            guard.hand_back(study, trial)
        raise
    except Exception:
        study.tell(trial, state=TrialState.FAIL)  # a bug, not the candidate: not counted
        raise
    try:
        study.tell(trial, values if state == TrialState.COMPLETE else None, state=state)
    except optuna.exceptions.UpdateFinishedTrialError:
        _log.warning("trial %d was declared dead by another worker; it is run again",
                     trial.number)
        return False
    return True


def family_claim(study: optuna.Study, total: int | None = None) -> dict[str, Any] | None:
    """Who claimed the family, when, for which budget, and whether it is ``done``; None if
    nobody did (for a budget of ``total`` trials: a family made before the budget was raised
    does not count)."""
    claim = study.user_attrs.get(FAMILY_ATTR)
    if not claim:
        return None
    if not isinstance(claim, dict):  # a run from before claims were recorded
        return {"worker": "", "time": 0.0, "done": bool(study.user_attrs.get(FINISHED_ATTR))}
    if total is not None and int(claim.get("trials", total)) < total:
        return None
    return claim


def claim_family(study: optuna.Study, total: int | None = None, force: bool = False) -> bool:
    """True for the one process that selects and retrains the family.

    Atomic across processes (the study's lock). With ``total``, the family is only claimed
    once the budget is spent (or the search ended early, :func:`exhausted`, and no trial
    runs), and claimed again when a resume raised the budget. A claim whose
    holder is gone (killed while retraining) is taken over; a family made is not made again.
    ``force`` takes over any claim.
    """
    guard = guard_for(study)
    with guard.lock():
        if total is not None and done_count(study) < total and not _ended_early(study):
            return False
        held = family_claim(study, total)
        if held is not None and not force and (
            held.get("done") or guard.holds(str(held.get("worker", "")))
        ):
            return False
        claim = {"worker": worker_id(), "time": time.time(), "trials": total, "done": False}
        study.set_user_attr(FAMILY_ATTR, claim)
        return True


def _ended_early(study: optuna.Study) -> bool:
    """The search ended before its budget and no trial runs any more."""
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    return exhausted(study) is not None and not running


def family_made(study: optuna.Study, total: int | None = None) -> None:
    """Mark this process's family claim done: the family is written."""
    claim = family_claim(study, total) or {"worker": worker_id(), "trials": total}
    study.set_user_attr(FAMILY_ATTR, {**claim, "time": time.time(), "done": True})
