"""The trial budget of a study and the one-time family claim, shared by every process.

A trial counts against the budget once it finished with a genesynth state (complete,
pruned, infeasible, failed, duplicate, invalid); a trial an interrupted or killed process
left behind does not count, and its choices are tried again.
"""

from __future__ import annotations

from collections.abc import Callable

import optuna
from optuna.trial import FrozenTrial, TrialState


def counted(trial: FrozenTrial) -> bool:
    """A trial that used up budget: finished with a genesynth state (not interrupted)."""
    return trial.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL) and (
        "state" in trial.user_attrs
    )


def done_count(study: optuna.Study) -> int:
    return sum(1 for t in study.get_trials(deepcopy=False) if counted(t))


class Budget:
    """Stops the study once ``total`` trials are counted, whichever process ran them."""

    def __init__(self, total: int) -> None:
        self.total = total

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if done_count(study) >= self.total:
            study.stop()


def run_trials(study: optuna.Study, objective: Callable[[optuna.Trial], object], total: int,
               catch: tuple[type[Exception], ...]) -> None:
    """Run trials in this process until the study has ``total`` counted trials."""
    remaining = total - done_count(study)
    if remaining > 0:
        study.optimize(objective, n_trials=remaining, callbacks=[Budget(total)],  # type: ignore[arg-type]
                       catch=catch)


def claim_family(study: optuna.Study) -> bool:
    """True for the one process that selects and retrains the family."""
    if study.user_attrs.get("family_claimed"):
        return False
    study.set_user_attr("family_claimed", True)
    return True
