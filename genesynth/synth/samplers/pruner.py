"""The default pruner: stop a candidate only when it is behind every feasible network.

Optuna's median pruner compares a candidate with all earlier ones at the same epoch. Under a
utility that rewards small networks (NetScore), the search moves to small networks, which learn
slower in the first epochs and still end feasible: the median stopped them all (a digits
synthesis pruned 22 trials in a row, some above the accuracy bound). This pruner stops a
candidate at epoch ``e`` only when its validation accuracy is below the lowest accuracy that
any trial which finished *feasible* had at epoch ``e`` — a network behind every design that
met the constraint — once ``n_startup_trials`` such trials exist and after
``n_warmup_steps`` epochs. Before then it stops nothing.
"""

from __future__ import annotations

import optuna
from optuna.trial import FrozenTrial, TrialState

from genesynth.errors import GenesynthError
from genesynth.record.trial import TrialRecord


class BehindFeasiblePruner(optuna.pruners.BasePruner):
    """Prune a trial whose accuracy at its last epoch is below every feasible trial's there."""

    def __init__(self, n_startup_trials: int = 3, n_warmup_steps: int = 1) -> None:
        for name, value in (("n_startup_trials", n_startup_trials),
                            ("n_warmup_steps", n_warmup_steps)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise GenesynthError(f"`{name}` must be a non-negative integer, but got "
                                 f"{name}={value!r}")
        self.n_startup_trials = n_startup_trials
        self.n_warmup_steps = n_warmup_steps

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        step = trial.last_step
        if step is None or step < self.n_warmup_steps:
            return False
        reference = [t.intermediate_values[step] for t in _feasible(study)
                     if step in t.intermediate_values]
        if len(reference) < self.n_startup_trials:
            return False
        return trial.intermediate_values[step] < min(reference)


def _feasible(study: optuna.Study) -> list[FrozenTrial]:
    return [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if TrialRecord.of(t).feasible is True]
