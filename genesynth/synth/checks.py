"""The fidelity check's candidates, trained alone by every process of the run that is free.

The process that makes the family chooses the check's candidates (:mod:`genesynth.synth.
fidelity`) and publishes them as the study's *plan* (user attr ``fidelity_plan``: their trial
numbers and keys, for the budget it was made for). Each candidate is then claimed with the
family claim's discipline (:mod:`genesynth.synth.locks`): under the study's lock, a process
takes the first candidate of the plan that has no result and no live claim, writing
``fidelity_check:<key>`` = ``{"worker": ..., "time": ...}``; it trains the candidate alone
(kept alive by ``claim_beat`` where the storage needs beats) and writes its result there
(``{"done": true, "accuracy": ..., ...}``). So:

- with N processes free, the checks take about 1/N of the time: the family's maker claims
  checks like everyone, and workers that finished the trials wait for the plan
  (:func:`help_checks`) instead of leaving;
- the result is the one a single process gives: each candidate's stand-alone training is
  seeded on its own (``Evaluator.train_alone``), and the check is computed from the plan's
  order, whoever trained what;
- a killed process's claim is taken over by the next process that looks (its holder is not
  alive), and the family's maker waits for every result, taking over what is left;
- a result is never trained again: a resumed run, another budget's plan holding the same
  candidate, or ``genesynth family --force`` reuse it (the run's settings are the study's).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import optuna

from genesynth.evaluate.base import CandidateFailed, Evaluator
from genesynth.synth.locks import Guard, Watch, guard_for, worker_id

if TYPE_CHECKING:
    from genesynth.synth.family import Candidate

#: Study user attr: the check's candidates, ``{"trials": budget, "candidates": [[trial, key]]}``.
PLAN_ATTR = "fidelity_plan"
#: Study user attr prefix: one candidate's claim, then its result (``fidelity_check:<key>``).
CHECK_PREFIX = "fidelity_check:"
#: Study user attr: the family maker's beat, where claims need beats (PostgreSQL, MySQL).
FAMILY_BEAT_ATTR = "family_beat"


@dataclass(frozen=True)
class Plan:
    """The check's candidates in the order the check lists them, for a budget of ``trials``."""

    trials: int
    candidates: tuple[tuple[int, str], ...]  # (trial number, architecture key)

    def to_dict(self) -> dict[str, Any]:
        return {"trials": self.trials, "candidates": [list(c) for c in self.candidates]}


@dataclass(frozen=True)
class Result:
    """A candidate trained alone: its validation top-1, or why its training failed."""

    accuracy: float | None
    error: str = ""


def attr_of(key: str) -> str:
    return CHECK_PREFIX + key


def publish(study: optuna.Study, total: int, chosen: Sequence[Candidate]) -> Plan:
    """The plan of ``chosen`` for a budget of ``total``, written to the study."""
    plan = Plan(total, tuple((c.trial, c.arch.key) for c in chosen))
    with guard_for(study).lock():
        study.set_user_attr(PLAN_ATTR, plan.to_dict())
    return plan


def read_plan(study: optuna.Study, total: int) -> Plan | None:
    """The plan published for a budget of ``total`` (None: none yet, or another budget's)."""
    raw = study.user_attrs.get(PLAN_ATTR)
    if not isinstance(raw, dict) or raw.get("trials") != total:
        return None
    try:
        return Plan(total, tuple((int(t), str(k)) for t, k in raw["candidates"]))
    except (KeyError, TypeError, ValueError):
        return None


def results(study: optuna.Study, plan: Plan) -> dict[str, Result]:
    """The results the study holds for the plan's candidates."""
    attrs = study.user_attrs
    return {key: found for _, key in plan.candidates
            if (found := _result(attrs.get(attr_of(key)))) is not None}


def _result(raw: Any) -> Result | None:
    if not isinstance(raw, dict) or raw.get("done") is not True:
        return None
    accuracy = raw.get("accuracy")
    if isinstance(accuracy, int | float) and not isinstance(accuracy, bool):
        return Result(float(accuracy))
    return Result(None, str(raw.get("error", "no accuracy recorded")))


Train = Callable[[int, str], Result]


def run_checks(study: optuna.Study, plan: Plan, train: Train, wait: bool) -> tuple[
        dict[str, Result] | None, int]:
    """Claim and train the plan's candidates until none is left to claim: with ``wait``,
    until every one has a result (waiting while live processes train the last ones, taking
    over those of dead ones), then the results; else None once the rest is claimed by others.
    ``train(trial, key)`` trains one. Returns the results and how many this process trained."""
    guard = guard_for(study)
    watch = Watch(guard)
    trained = 0
    while True:
        step = _claim(study, plan, guard, watch)
        if isinstance(step, dict):
            return step, trained
        if step is None:
            if not wait:
                return None, trained
            time.sleep(guard.poll)
            continue
        trial, key = step
        _train_claimed(study, guard, trial, key, train)
        trained += 1


def _claim(study: optuna.Study, plan: Plan, guard: Guard, watch: Watch
           ) -> dict[str, Result] | tuple[int, str] | None:
    """Under the lock: every result (all done), the next candidate claimed for this process,
    or None (the others are claimed by live processes)."""
    with guard.lock():
        attrs = study.user_attrs
        found: dict[str, Result] = {}
        for trial, key in plan.candidates:
            raw = attrs.get(attr_of(key))
            done = _result(raw)
            if done is not None:
                found[key] = done
            elif not watch.alive(attr_of(key), raw):
                study.set_user_attr(attr_of(key), _claim_record())
                return trial, key
        return found if len(found) == len(plan.candidates) else None


def _claim_record() -> dict[str, Any]:
    return {"worker": worker_id(), "time": time.time()}


def _train_claimed(study: optuna.Study, guard: Guard, trial: int, key: str, train: Train
                   ) -> None:
    """Train a claimed candidate and write its result; an interrupt or an error frees the
    claim (another process takes it at once) and goes on up."""
    attr = attr_of(key)
    start = time.perf_counter()
    try:
        with guard.claim_beat(study, attr, _claim_record()):
            result = train(trial, key)
    except BaseException:
        with guard.lock():
            study.set_user_attr(attr, {"worker": "", "time": time.time()})  # free
        raise
    record: dict[str, Any] = {"done": True, "worker": worker_id(), "time": time.time(),
                              "seconds": round(time.perf_counter() - start, 3)}
    if result.accuracy is not None:
        record["accuracy"] = result.accuracy
    else:
        record["error"] = result.error
    with guard.lock():
        study.set_user_attr(attr, record)


def trainer(evaluator: Evaluator, by_trial: Mapping[int, Candidate]) -> Train:
    """``train`` for :func:`run_checks`: the candidate of that trial alone, with the proxy
    budget; a candidate whose training fails (a non-finite loss) is a failed result."""
    def train(trial: int, key: str) -> Result:
        candidate = by_trial.get(trial)
        if candidate is None or candidate.arch.key != key:
            return Result(None, f"trial {trial} holds no feasible candidate {key}")
        try:
            return Result(evaluator.train_alone(candidate.arch, lambda *_: None).accuracy)
        except CandidateFailed as error:
            return Result(None, str(error))
    return train
