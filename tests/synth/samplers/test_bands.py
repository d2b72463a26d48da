"""Improvement per complexity band: the family's bands, their incumbents, and the share of
``bayes``' trials that fill them."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution

import genesynth
from genesynth.evaluate.base import Measurement
from genesynth.goal.constraint import Constraint
from genesynth.synth.samplers.bands import band_of, band_targets, band_turn
from genesynth.synth.samplers.bayes import BayesSampler
from genesynth.synth.samplers.pool import Pool
from tests.synth.samplers.test_bayes import PROTO, Smooth


def test_bands_are_the_familys_above_and_below_the_most_accurate() -> None:
    # top 1M: band 0 above 800K; 800K down to 10K in three equal log widths (x4.3 each).
    macs = [2_000_000, 800_001, 800_000, 190_000, 180_000, 43_000, 10_000, 5_000]
    assert band_of(macs, 1_000_000, 10_000, 4).tolist() == [0, 0, 1, 1, 2, 3, 3, 3]
    assert band_of(macs, 1_000_000, 10_000, 1).tolist() == [0] * 8


def test_an_empty_band_has_the_floor_a_measured_one_its_best_utility() -> None:
    candidates = [(90_000, 1_000_000), (50_000, 500_000), (9_000, 100_000), (4_000, 20_000)]
    # (params, MACs, accuracy, utility): the most accurate (A) has 1M MACs; two in the
    # lowest band.
    feasible = [(100_000, 1_000_000, 97.0, 80.0), (5_000, 12_000, 91.0, 95.0),
                (5_000, 11_000, 92.0, 96.0)]
    best, need = band_targets(candidates, feasible, 4, floor=10.0)
    assert best.tolist() == [80.0, 10.0, 10.0, 96.0]
    # to be on the front, a top-1 above the best network with no more params and MACs
    assert need.tolist() == [92.0, 92.0, 92.0, -np.inf]
    best, need = band_targets(candidates, [], 4, floor=10.0)
    assert best.tolist() == [10.0] * 4 and need.tolist() == [-np.inf] * 4


def test_every_second_model_guided_trial_improves_per_band() -> None:
    assert [band_turn(n, startup=4) for n in range(9)] == [
        False, False, False, False, False, True, False, True, False]


def test_bayes_fills_the_familys_bands(tmp_path: Path) -> None:
    # Accuracy grows with log MACs; NetScore rewards the small networks, where the global
    # improvement alone stays. The family asks for three members 20 % apart in MACs.
    rule = Constraint(min_accuracy=45.0)
    result = genesynth.synthesize(PROTO, rule, trials=10, out=tmp_path / "run",
                                  evaluator=Smooth(), family_size=3, seed=0)
    macs = [m.macs for m in result.family]
    assert len(macs) == 3, macs
    assert all(b <= 0.8 * a for a, b in zip(macs, macs[1:], strict=False))
    searched = [t for t in result.trials if "phase" not in t.user_attrs]
    assert len(searched) == 10  # found in the search itself, no widening phase needed




def _observed(entry: Any, accuracy: float, rule: Constraint) -> optuna.trial.FrozenTrial:
    m = Measurement(accuracy, entry.params, entry.macs)
    return optuna.trial.create_trial(
        state=optuna.trial.TrialState.COMPLETE, value=float(rule.utility(m)),
        params=dict(entry.values),
        distributions={k: CategoricalDistribution((v,)) for k, v in entry.values.items()},
        user_attrs={"state": "complete", "key": entry.key, "params": entry.params,
                    "macs": entry.macs, "accuracy": accuracy, "feasible": rule.feasible(m)},
    )


def test_a_band_trial_goes_where_the_family_has_no_member_yet() -> None:
    # Measured: the largest network (the most accurate, A) and the four smallest. The global
    # improvement proposes the smallest networks NetScore rewards; the band trial one of the
    # empty bands between them.
    rule = Constraint(min_accuracy=45.0)
    entries = sorted(Pool(PROTO, random.Random(0)).entries.values(), key=lambda e: e.macs)
    seen = [entries[-1], *entries[:4]]
    trials = [_observed(e, Smooth.accuracy(e.macs), rule) for e in seen]
    sampler = BayesSampler(seed=0, startup=4)
    sampler.bind(PROTO, rule, family_size=4)
    assert band_turn(len(trials), sampler.startup)
    proposed = sampler._propose(sampler._problem, trials)  # type: ignore[arg-type]
    feasible = [(e.macs, Smooth.accuracy(e.macs), 0.0) for e in seen]
    low = min(e.macs for e in entries)
    bands = band_of([e.macs for e in seen], entries[-1].macs, low, 4).tolist()
    [band] = band_of([proposed.macs], entries[-1].macs, low, 4).tolist()
    assert band not in bands, (proposed.macs, bands, band, feasible)
