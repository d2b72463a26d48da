"""The default sampler: inside the static bounds, never the same network twice, a model that
learns, and an ordinary Optuna sampler (fallback, retries, parallel asks)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest

import genesynth
from genesynth.errors import ConstraintError, GenesynthError
from genesynth.evaluate.base import Evaluator, Report
from genesynth.goal.constraint import Constraint
from genesynth.net.measurement import Measurement
from genesynth.synth.objective import TrialChooser
from genesynth.synth.samplers import resolve_sampler
from genesynth.synth.samplers.bayes import KEY_ATTR, BayesSampler
from genesynth.synth.samplers.pool import Featurizer, MutatingChooser, Pool
from genesynth.synth.samplers.surrogate import AccuracyModel
from tests.synth.test_engine import TINY

PROTO = genesynth.parse_prototype(TINY)


class Smooth(Evaluator):
    """Accuracy grows with log MACs: the cheapest network above the bound is the optimum."""

    prunable = False

    def __init__(self) -> None:
        self.keys: list[str] = []

    def evaluate(self, arch: Any, report: Report) -> Measurement:
        self.keys.append(arch.key)
        c = genesynth.cost(arch)
        return Measurement(self.accuracy(c.macs), c.params, c.macs)

    @staticmethod
    def accuracy(macs: int) -> float:
        return float(40.0 + 5.0 * np.log(macs / 10_000))


def _synthesize(tmp_path: Path, rule: Constraint, trials: int, **kwargs: Any) -> Any:
    evaluator = Smooth()
    result = genesynth.synthesize(PROTO, rule, trials=trials, out=tmp_path / "run",
                                  evaluator=evaluator, family_size=1, **kwargs)
    return result, evaluator


def test_bayes_is_the_default_sampler() -> None:
    sampler, name = resolve_sampler(None, seed=0, trials=10)
    assert isinstance(sampler, BayesSampler) and name == "bayes"


def test_proposes_only_networks_inside_the_bounds_and_never_one_twice(tmp_path: Path) -> None:
    rule = Constraint(min_accuracy=45.0, max_macs=100_000)
    inside = [e for e in Pool(PROTO, random.Random(0)).entries.values() if e.macs <= 100_000]
    result, evaluator = _synthesize(tmp_path, rule, trials=len(inside))
    states = [t.user_attrs["state"] for t in result.trials]
    assert states == ["complete"] * len(inside)  # no skipped sample, no duplicate
    assert sorted(evaluator.keys) == sorted(e.key for e in inside)
    assert all(t.system_attrs[KEY_ATTR] == t.user_attrs["key"] for t in result.trials)


def test_finds_the_best_feasible_network_within_a_few_evaluations(tmp_path: Path) -> None:
    rule = Constraint(min_accuracy=52.0)
    scores = {}
    for e in Pool(PROTO, random.Random(0)).entries.values():
        m = Measurement(Smooth.accuracy(e.macs), e.params, e.macs)
        if rule.feasible(m):
            scores[e.key] = rule.utility(m)
    optimum = max(scores, key=scores.__getitem__)
    _, evaluator = _synthesize(tmp_path, rule, trials=12)
    # 32 networks: a random order evaluates a given one within 12 trials 37.5 % of the time.
    assert optimum in evaluator.keys


def test_parallel_asks_get_different_networks() -> None:
    sampler = BayesSampler(seed=0)
    sampler.bind(PROTO, Constraint(min_accuracy=50.0))
    study = optuna.create_study(direction="maximize", sampler=sampler)
    keys = []
    for _ in range(6):  # none told: all six are running at once
        trial = study.ask()
        arch = PROTO.sample(chooser=TrialChooser(trial))
        keys.append(arch.key)
        assert study.trials[-1].system_attrs[KEY_ATTR] == arch.key
    assert len(set(keys)) == 6


def test_an_unbound_sampler_samples_like_random_search() -> None:
    study = optuna.create_study(sampler=BayesSampler(seed=1))
    study.optimize(lambda t: t.suggest_float("x", 0, 1) + t.suggest_int("n", 0, 3), n_trials=5)
    assert len({t.params["x"] for t in study.trials}) == 5


def test_a_retried_trial_keeps_its_choices() -> None:
    sampler = BayesSampler(seed=0)
    sampler.bind(PROTO, Constraint(min_accuracy=50.0))
    study = optuna.create_study(direction="maximize", sampler=sampler)
    fixed = {"m01.out": 16, "m01.stride": 2, "m01.0.kernel": 3, "m02.out": 32,
             "m02.0.kernel": 1}
    study.enqueue_trial(fixed)
    trial = study.ask()
    PROTO.sample(chooser=TrialChooser(trial))
    assert trial.params == fixed and KEY_ATTR not in study.trials[-1].system_attrs


def test_nothing_left_inside_the_bounds_is_a_clear_error() -> None:
    sampler = BayesSampler(seed=0)
    sampler.bind(PROTO, Constraint(max_macs=16_500))  # one network: 16,032 MACs
    study = optuna.create_study(direction="maximize", sampler=sampler)
    PROTO.sample(chooser=TrialChooser(study.ask()))
    with pytest.raises(ConstraintError) as caught:
        study.ask()
    assert str(caught.value) == ("none of the 32 networks drawn from the prototype 'tiny' is "
                                 "inside the constraint's bounds and not yet tried")


@pytest.mark.parametrize(("name", "value"), [("startup", 0), ("pool", 0), ("grow", -1),
                                             ("startup", True), ("blas_threads", 0)])
def test_settings_are_checked(name: str, value: Any) -> None:
    with pytest.raises(GenesynthError, match=f"`{name}` must be an integer"):
        BayesSampler(**{name: value})


def test_the_model_learns_a_function_of_the_features() -> None:
    rng = np.random.default_rng(0)
    choices = rng.integers(0, 2, size=(60, 6)).astype(float)
    costs = rng.normal(size=(60, 2))
    y = 80 + 3 * costs[:, 0] - 2 * choices[:, 1]
    model = AccuracyModel(width=6).fit(choices[:40], costs[:40], y[:40])
    post = model.predict(choices[40:], costs[40:])
    assert np.abs(post.mean - y[40:]).max() < 0.5
    assert post.std.max() < 1.0


def test_a_mutation_keeps_most_choices_and_draws_missing_ones() -> None:
    base = {"m01.out": 16, "m01.stride": 2}
    kept = MutatingChooser(base, random.Random(0), rate=0.0)
    assert kept.categorical("m01.out", [8, 16]) == 16
    assert kept.categorical("m02.out", [16, 32]) in (16, 32)
    assert kept.integer("n", 1, 9, 2) in (1, 3, 5, 7, 9)


def test_features_one_hot_the_choices() -> None:
    entries = list(Pool(PROTO, random.Random(0)).entries.values())[:3]
    features = Featurizer(PROTO.choices()).choice_matrix(entries)
    assert features.shape == (3, 10) and (features.sum(axis=1) == 5).all()
