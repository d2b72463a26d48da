"""The default sampler: cost- and constraint-aware, model-based, over a pool of candidates.

Only accuracy is unknown before an evaluation: params and MACs are exact. So each trial the
sampler

1. keeps a pool of distinct networks of the prototype inside the static bounds
   (:mod:`genesynth.synth.pool`), less every network a trial of the study already holds or
   is running (so parallel workers never propose the same one);
2. fits a Gaussian process of accuracy over the evaluated networks' features
   (:mod:`genesynth.synth.surrogate`);
3. proposes the pool entry with the largest expected improvement of the utility, where the
   utility counts only when the accuracy bound is met: E[(U(a) - U_best)+ · 1{a >= bound}],
   integrated over the predicted accuracy (Gauss-Hermite nodes), with U the constraint's
   utility at the entry's exact costs.

The first ``startup`` trials spread over the pool's cost range (quantiles of log params +
log MACs). It is an ordinary Optuna sampler: the proposal is made in ``before_trial`` (inside
the study's claim lock, see :mod:`genesynth.synth.trials`) and recorded as the trial's system
attribute ``genesynth:key``; ``sample_independent`` then answers each choice from it, so
storages, resume and workers work as with any sampler. Until :meth:`bind` gives it the
prototype and constraint (the engine does), and for utilities that read a measured latency,
it samples like Optuna's RandomSampler. A constraint with a latency table makes latency as
exact as MACs: each entry's predicted latency is inside the latency bound, and the utility
(e.g. the MnasNet reward) reads it (:class:`StaticLatency`).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.trial import FrozenTrial, TrialState

from genesynth.errors import ConstraintError, GenesynthError
from genesynth.evaluate.base import Measurement
from genesynth.record.trial import TrialRecord
from genesynth.synth.pool import Entry, Featurizer, Pool
from genesynth.synth.static import StaticLatency
from genesynth.synth.surrogate import AccuracyModel

KEY_ATTR = "genesynth:key"
NODES, WEIGHTS = np.polynomial.hermite_e.hermegauss(16)
WEIGHTS = WEIGHTS / WEIGHTS.sum()


class BayesSampler(BaseSampler):
    """Chooses each candidate by constrained expected improvement over a costed pool.

    ``startup``: trials spread over the cost range before the model is used; ``pool``: random
    samples a large space starts from; ``grow``: random samples and as many mutations of the
    most promising entries added per trial (a small space is enumerated instead).
    """

    def __init__(self, seed: int | None = None, startup: int = 4, pool: int = 1000,
                 grow: int = 100) -> None:
        for name, value, low in (("startup", startup, 1), ("pool", pool, 1), ("grow", grow, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise GenesynthError(
                    f"`{name}` must be an integer >= {low}, but got {name}={value!r}")
        self.seed = seed
        self.startup, self.pool_size, self.grow = startup, pool, grow
        self._rng = random.Random(seed)
        self._fallback = RandomSampler(seed=seed)
        self._problem: tuple[Pool, Featurizer, Any] | None = None  # with the constraint
        self._chosen: dict[int, dict[str, Any]] = {}
        self._latency = StaticLatency(None, None)

    def bind(self, prototype: Any, constraint: Any) -> None:
        """The space and the constraint to sample for (again with each new constraint)."""
        if self._problem is None or self._problem[0].prototype != prototype:
            pool = Pool(prototype, self._rng, self.pool_size)
            self._problem = (pool, Featurizer(prototype.choices()), constraint)
        else:
            self._problem = (*self._problem[:2], constraint)
        self._latency = StaticLatency(prototype, constraint)

    # -- Optuna's sampler interface ---------------------------------------------------------

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial
                                    ) -> dict[str, BaseDistribution]:
        return {}

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        return {}

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        problem = self._problem
        if problem is None or "fixed_params" in trial.system_attrs:
            return  # not bound, or a retried / enqueued trial that has its choices
        if problem[2].utility.needs_latency and not self._latency.known:
            return  # the utility needs a measured latency: no exact utility to rank by
        entry = self._propose(problem, study.get_trials(deepcopy=False))
        self._chosen[trial.number] = dict(entry.values)
        study._storage.set_trial_system_attr(trial._trial_id, KEY_ATTR, entry.key)

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        values = self._chosen.get(trial.number, {})
        if param_name in values:
            value = values[param_name]
            if param_distribution._contains(param_distribution.to_internal_repr(value)):
                return value
        return self._fallback.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study: optuna.Study, trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        self._chosen.pop(trial.number, None)

    def reseed_rng(self) -> None:
        self._rng.seed()
        self._fallback.reseed_rng()

    # -- the proposal -----------------------------------------------------------------------

    def _propose(self, problem: tuple[Pool, Featurizer, Any], trials: list[FrozenTrial]
                 ) -> Entry:
        pool, featurizer, constraint = problem
        taken = {str(TrialRecord.of(t).key or t.system_attrs.get(KEY_ATTR)) for t in trials}
        observed = _observations(trials)
        candidates = self._candidates(pool, constraint, taken, observed)
        if len(observed) < self.startup:
            return _spread(candidates, len(observed), self.startup, self._rng)
        entries = [entry for entry, _ in observed]
        model = AccuracyModel(featurizer.choices).fit(
            featurizer.choice_matrix(entries), featurizer.cost_matrix(entries),
            np.array([accuracy for _, accuracy in observed]),
        )
        scores = _improvement(candidates, model, featurizer, constraint, trials, self._latency)
        return candidates[int(np.argmax(scores))]

    def _candidates(self, pool: Pool, constraint: Any, taken: set[str],
                    observed: list[tuple[Entry, float]]) -> list[Entry]:
        def rank(pair: tuple[Entry, float]) -> tuple[bool, float]:
            m = self._latency.measurement(pair[1], pair[0])
            return constraint.feasible(m), float(constraint.utility(m))

        best = sorted(observed, key=rank, reverse=True)[:10]  # mutate the most useful ones
        pool.grow(self.grow, [entry for entry, _ in best], rate=0.15)
        for _ in range(10):
            found = [e for e in pool.entries.values() if e.key not in taken
                     and not constraint.static_violations(e.params, e.macs)
                     and not self._latency.over(e)]
            if found or pool.complete:
                break
            pool.grow(self.pool_size)
        if not found:
            raise ConstraintError(
                f"none of the {len(pool.entries)} networks drawn from the prototype "
                f"'{pool.prototype.name}' is inside the constraint's bounds and not yet tried"
            )
        return found


def _observations(trials: list[FrozenTrial]) -> list[tuple[Entry, float]]:
    """Every evaluated network once, with its accuracy (a pruned one at its last report)."""
    out: dict[str, tuple[Entry, float]] = {}
    for t in trials:
        rec = TrialRecord.of(t)
        if (rec.accuracy is None or rec.key is None or rec.key in out or rec.params is None
                or rec.macs is None):
            continue
        out[rec.key] = (Entry(rec.key, dict(t.params), rec.params, rec.macs), rec.accuracy)
    return list(out.values())


def _spread(candidates: list[Entry], index: int, count: int, rng: random.Random) -> Entry:
    """A random entry of the ``index``-th of ``count`` equal strata of the candidates ranked
    by log params + log MACs (the startup trials cover the cost range)."""
    ranked = sorted(candidates, key=lambda e: (np.log(max(e.params, 1)) +
                                               np.log(max(e.macs, 1)), e.key))
    low = min(len(ranked) - 1, index * len(ranked) // count)
    high = max(low + 1, (index + 1) * len(ranked) // count)
    return ranked[rng.randrange(low, min(high, len(ranked)))]


def _improvement(candidates: list[Entry], model: AccuracyModel, featurizer: Featurizer,
                 constraint: Any, trials: list[FrozenTrial], latency: StaticLatency
                 ) -> np.ndarray:
    """E[(U(a) - U_best)+ · 1{a >= bound}] per candidate, over its predicted accuracy."""
    post = model.predict(featurizer.choice_matrix(candidates),
                         featurizer.cost_matrix(candidates))
    bound = constraint.min_accuracy if constraint.min_accuracy is not None else -np.inf
    incumbent = _incumbent(trials, constraint, candidates, latency)
    accuracy = np.clip(post.mean[:, None] + post.std[:, None] * NODES[None, :], 0.0, 100.0)
    gain = np.zeros_like(accuracy)
    upper = [constraint.utility(latency.measurement(float(a), e))
             for a, e in zip(accuracy[:, -1], candidates, strict=True)]
    for i, entry in enumerate(candidates):
        if upper[i] <= incumbent or accuracy[i, -1] < bound:
            continue  # no improvement even at the optimistic end
        for j, a in enumerate(accuracy[i]):
            if a >= bound:
                u = constraint.utility(latency.measurement(float(a), entry))
                gain[i, j] = max(0.0, u - incumbent)
    return gain @ WEIGHTS


def _incumbent(trials: list[FrozenTrial], constraint: Any, candidates: list[Entry],
               latency: StaticLatency) -> float:
    """The best feasible utility measured so far; before any, the least a feasible candidate
    could score (every feasible candidate improves on it)."""
    feasible = []
    for t in trials:
        rec = TrialRecord.of(t)
        if (rec.state != "complete" or rec.accuracy is None or rec.params is None
                or rec.macs is None):
            continue
        m = Measurement(rec.accuracy, rec.params, rec.macs, rec.latency_ms)
        if constraint.feasible(m):  # under this phase's bounds
            feasible.append(float(constraint.utility(m)))
    if feasible:
        return max(feasible)
    floor = constraint.min_accuracy if constraint.min_accuracy is not None else 0.0
    return min(constraint.utility(latency.measurement(floor, e)) for e in candidates) - 1.0
