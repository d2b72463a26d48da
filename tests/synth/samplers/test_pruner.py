"""The default pruner stops a candidate only when it is behind every feasible network."""

from __future__ import annotations

import optuna
import pytest

from genesynth.errors import GenesynthError
from genesynth.synth.samplers import default_pruner
from genesynth.synth.samplers.pruner import BehindFeasiblePruner


def _study(curves: list[tuple[list[float], bool]]) -> optuna.Study:
    study = optuna.create_study(direction="maximize", pruner=BehindFeasiblePruner(2, 1))
    for curve, feasible in curves:
        trial = study.ask()
        for epoch, accuracy in enumerate(curve, start=1):
            trial.report(accuracy, epoch)
        trial.set_user_attr("feasible", feasible)
        study.tell(trial, curve[-1])
    return study


def _prunes(study: optuna.Study, curve: list[float]) -> bool:
    trial = study.ask()
    for epoch, accuracy in enumerate(curve, start=1):
        trial.report(accuracy, epoch)
    return trial.should_prune()


def test_only_a_candidate_behind_every_feasible_one_is_stopped() -> None:
    # a big network that learns fast and a small one that learns slowly, both feasible; a
    # third, infeasible one does not count
    study = _study([([80.0, 95.0], True), ([40.0, 91.0], True), ([10.0, 20.0], False)])
    assert not _prunes(study, [60.0])  # below the median (and the big one), not behind both
    assert not _prunes(study, [40.0])  # equal to the slowest feasible one
    assert _prunes(study, [39.9])
    assert not _prunes(study, [5.0, 96.0])  # judged at its last report, where it is ahead
    assert _prunes(study, [99.0, 90.0])


def test_nothing_is_stopped_before_enough_feasible_trials() -> None:
    study = _study([([80.0, 95.0], True), ([10.0, 20.0], False), ([11.0, 21.0], False)])
    assert not _prunes(study, [1.0])


def test_settings_are_checked_and_the_default_warms_up_a_third() -> None:
    with pytest.raises(GenesynthError, match=r"`n_startup_trials` must be a non-negative integer, "
                                         r"but got n_startup_trials=-1"):
        BehindFeasiblePruner(-1)
    pruner = default_pruner(6)
    assert isinstance(pruner, BehindFeasiblePruner) and pruner.n_warmup_steps == 2
