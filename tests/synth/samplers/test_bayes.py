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
from genesynth.record.trial import TrialRecord, TrialState
from genesynth.space import FixedChooser
from genesynth.synth.objective import TrialChooser
from genesynth.synth.samplers import bayes, resolve_sampler
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


ATTO = genesynth.load_prototype(Path(__file__).parents[3] / "prototypes" / "attonet16.gs"
                                ).with_overrides(input_shape=(1, 8, 8), classes=10)


def _distributions(values: dict[str, Any]) -> dict[str, Any]:
    infos = {info.name: info for info in ATTO.choices()}
    return {name: (optuna.distributions.CategoricalDistribution(infos[name].options)
                   if infos[name].kind == "categorical" else
                   optuna.distributions.IntDistribution(infos[name].low, infos[name].high,
                                                        step=infos[name].step))
            for name in values}


def test_a_walk_steers_a_network_into_bounds_random_draws_do_not_reach() -> None:
    pool = Pool(ATTO, random.Random(0), start=20)
    start = sorted(pool.entries.values(), key=lambda e: e.macs)[10]  # millions of MACs
    bound = 440_000  # fewer than any of 200 random networks of attonet16 at 1x8x8 have

    def gap(entry: Any) -> float:
        return max(0.0, np.log(entry.macs / bound))

    assert pool.steer(start, gap, work=0) is None
    walked = [pool.steer(start, gap) for _ in range(2)]
    assert all(w is not None and w.macs <= bound for w in walked)
    assert walked[0] != walked[1] and all(w.key in pool.entries for w in walked)
    again = Pool(ATTO, random.Random(0), start=20)
    assert again.steer(start, gap) == walked[0]  # the pool's seed decides the walk


def test_a_phase_whose_region_random_draws_miss_still_gets_networks_inside_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A widening phase below every network measured: its networks are walked to from the
    most useful ones (before, the sampler drew 10 pools at random and gave up)."""
    monkeypatch.setattr(bayes, "WALKS", 1)  # one walk a network is enough here (and faster)
    sampler = BayesSampler(seed=0, pool=20, startup=2, grow=4)
    sampler.bind(ATTO, Constraint(min_accuracy=50.0, max_macs=440_000))
    study = optuna.create_study(direction="maximize", sampler=sampler)
    for entry in list(Pool(ATTO, random.Random(1), start=4).entries.values())[:4]:
        arch = ATTO.sample(chooser=FixedChooser(entry.values))
        m = Measurement(Smooth.accuracy(entry.macs), entry.params, entry.macs)
        rec = TrialRecord(state=TrialState.COMPLETE, key=arch.key, arch=arch.to_json(),
                          params=entry.params, macs=entry.macs, accuracy=m.accuracy,
                          utility=1.0, feasible=True)
        study.add_trial(optuna.trial.create_trial(
            state=optuna.trial.TrialState.COMPLETE, value=1.0, params=dict(entry.values),
            distributions=_distributions(dict(entry.values)), user_attrs=rec.to_attrs()))
    for _ in range(3):
        trial = study.ask()
        arch = ATTO.sample(chooser=TrialChooser(trial))
        assert genesynth.cost(arch).macs <= 440_000
        study.tell(trial, 1.0)
