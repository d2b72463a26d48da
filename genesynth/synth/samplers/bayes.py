"""The default sampler: cost- and constraint-aware, model-based, over a pool of candidates.

Only accuracy is unknown before an evaluation: params and MACs are exact. So each trial the
sampler

1. keeps a pool of distinct networks of the prototype inside the static bounds
   (:mod:`genesynth.synth.samplers.pool`), less every network a trial of the study already holds or
   is running (so parallel workers never propose the same one);
2. fits a Gaussian process of accuracy over the evaluated networks' features
   (:mod:`genesynth.synth.samplers.surrogate`);
3. proposes the pool entry with the largest expected improvement of the utility, where the
   utility counts only when the accuracy bound is met: E[(U(a) - U_best)+ · 1{a >= bound}],
   integrated over the predicted accuracy (Gauss-Hermite nodes), with U the constraint's
   utility at the entry's exact costs.

Every second model-guided trial measures the improvement per complexity band instead (over
the best feasible utility of the candidate's own band of the family, where it would join the
family's front: :mod:`genesynth.synth.samplers.bands`), so the search also fills the family's bands
that are empty or weak.

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

import math
import random
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.trial import FrozenTrial
from optuna.trial import TrialState as OptunaState

from genesynth.errors import ConstraintError, GenesynthError
from genesynth.net.measurement import Measurement
from genesynth.record.trial import TrialRecord, TrialState
from genesynth.storage.optuna_private import storage_of, trial_id
from genesynth.synth.samplers.bands import band_targets, band_turn
from genesynth.synth.samplers.linalg import blas_limit
from genesynth.synth.samplers.pool import Entry, Featurizer, Pool
from genesynth.synth.samplers.surrogate import AccuracyModel, Posterior
from genesynth.synth.static import StaticLatency

if TYPE_CHECKING:
    from genesynth.goal.constraint import Constraint
    from genesynth.space import Prototype

KEY_ATTR = "genesynth:key"
NODES, WEIGHTS = np.polynomial.hermite_e.hermegauss(16)
WEIGHTS = WEIGHTS / WEIGHTS.sum()
MUTATION_RATE = 0.15  # the share of a network's choices a mutation draws anew
STEERED, WALKS = 3, 3  # the useful networks outside the bounds walked into them, walks each


class BayesSampler(BaseSampler):
    """Chooses each candidate by constrained expected improvement over a costed pool.

    ``startup``: trials spread over the cost range before the model is used; ``pool``: random
    samples a large space starts from; ``grow``: mutations drawn around each network when it
    joins the ten most useful (see :meth:`_grow`; a small space is enumerated instead);
    ``blas_threads``: NumPy's BLAS threads while proposing (None: as many as NumPy runs;
    one is many times faster for these small matrices on a busy machine).
    """

    def __init__(self, seed: int | None = None, startup: int = 4, pool: int = 1000,
                 grow: int = 20, blas_threads: int | None = 1) -> None:
        for name, value, low in (("startup", startup, 1), ("pool", pool, 1), ("grow", grow, 0),
                                 ("blas_threads", 1 if blas_threads is None else blas_threads,
                                  1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise GenesynthError(
                    f"`{name}` must be an integer >= {low}, but got {name}={value!r}")
        self.blas_threads = blas_threads
        self.seed = seed
        self.startup, self.pool_size, self.grow = startup, pool, grow
        self._rng = random.Random(seed)
        self._fallback = RandomSampler(seed=seed)
        self._problem: tuple[Pool, Featurizer, Any] | None = None  # with the constraint
        self._chosen: dict[int, dict[str, Any]] = {}
        self._records = Records()
        self._mutated: set[str] = set()  # networks whose neighbourhood the pool holds
        self._steered: set[tuple[str, tuple[int | None, ...]]] = set()  # walked into bounds
        self._model: Model | None = None
        self._latency = StaticLatency(None, None)
        self.family_size = 4  # the bands improved per band (see bind)

    def bind(self, prototype: Prototype, constraint: Constraint, family_size: int = 4) -> None:
        """The space and the constraint to sample for (again with each new constraint), and
        the family's size: its bands are improved per band every second model-guided
        trial (1: never)."""
        self.family_size = family_size
        if self._problem is None or self._problem[0].prototype != prototype:
            pool = Pool(prototype, self._rng, self.pool_size)
            self._mutated, self._steered = set(), set()
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
        storage_of(study).set_trial_system_attr(trial_id(trial), KEY_ATTR, entry.key)

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        values = self._chosen.get(trial.number, {})
        if param_name in values:
            value = values[param_name]
            if param_distribution._contains(param_distribution.to_internal_repr(value)):
                return value
        return self._fallback.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study: optuna.Study, trial: FrozenTrial, state: OptunaState,
                    values: Sequence[float] | None) -> None:
        self._chosen.pop(trial.number, None)

    def reseed_rng(self) -> None:
        self._rng.seed()
        self._fallback.reseed_rng()

    # -- the proposal -----------------------------------------------------------------------

    def _propose(self, problem: tuple[Pool, Featurizer, Any], trials: list[FrozenTrial]
                 ) -> Entry:
        pool, featurizer, constraint = problem
        with blas_limit(self.blas_threads):
            records = self._records.of(trials)
            taken = {str(rec.key or t.system_attrs.get(KEY_ATTR)) for t, rec in records}
            observed = observations(records)
            candidates = self._candidates(pool, constraint, taken, observed)
            if len(observed) < self.startup:
                return _spread(candidates, len(observed), self.startup, self._rng)
            self._model = update_model(self._model, featurizer, observed)
            per_band = self.family_size > 1 and band_turn(len(observed), self.startup)
            best, need = targets(candidates, records, constraint, self._latency,
                                 self.family_size if per_band else 0)
            scores = improvement(candidates, self._model.predict(candidates), constraint, best,
                                 need, self._latency)
            return candidates[int(np.argmax(scores))]

    def _candidates(self, pool: Pool, constraint: Constraint, taken: set[str],
                    observed: list[tuple[Entry, float]]) -> list[Entry]:
        self._grow(pool, constraint, observed)
        for _ in range(10):
            found = [e for e in pool.inside(constraint)
                     if e.key not in taken and not self._latency.over(e)]
            if found or pool.full:
                break
            pool.grow(self.pool_size)
        if not found:
            raise ConstraintError(
                f"none of the {len(pool.entries)} networks drawn from the prototype "
                f"'{pool.prototype.name}' is inside the constraint's bounds and not yet tried"
            )
        return found

    def _grow(self, pool: Pool, constraint: Constraint, observed: list[tuple[Entry, float]]
              ) -> None:
        """Only what this proposal needs: ``grow`` mutations around each network when it
        joins the ten most useful, half as many around the best each trial, and a quarter
        as many random draws (the space beyond them). Most useful: feasible, then inside the
        static bounds (a widening phase's tighter ones: its networks' neighbours are more
        likely inside them than random draws), then by utility."""
        def rank(pair: tuple[Entry, float]) -> tuple[bool, bool, float]:
            m = self._latency.measurement(pair[1], pair[0])
            inside = not constraint.static_violations(m.params, m.macs)
            return constraint.feasible(m), inside, float(constraint.utility(m))

        best = [entry for entry, _ in sorted(observed, key=rank, reverse=True)[:10]]
        new = [entry for entry in best if entry.key not in self._mutated]
        self._mutated.update(entry.key for entry in new)
        pool.grow(self.grow * len(new), new, rate=MUTATION_RATE)
        pool.grow(max(1, self.grow // 2) if best else 0, best[:1], rate=MUTATION_RATE)
        pool.grow(self.grow // 4)
        self._steer(pool, constraint, observed)

    def _steer(self, pool: Pool, constraint: Constraint, observed: list[tuple[Entry, float]]
               ) -> None:
        """Walks from the most useful networks outside the static bounds into them (a
        widening phase's: its region may be one random draws almost never reach, or hold
        only networks that measured badly), a few from each, once per network and bounds
        (:meth:`Pool.steer`). Most useful: accurate enough for the constraint, then by
        utility, wherever their MACs lie."""
        def rank(pair: tuple[Entry, float]) -> tuple[bool, float]:
            m = self._latency.measurement(pair[1], pair[0])
            bound = constraint.min_accuracy
            return bound is None or m.accuracy >= bound, float(constraint.utility(m))

        bounds = (constraint.min_macs, constraint.max_macs, constraint.max_params)
        gap = _distance(constraint)
        useful = [e for e, _ in sorted(observed, key=rank, reverse=True)[:10]]
        outside = [e for e in useful if gap(e) > 0 and (e.key, bounds) not in self._steered]
        for entry in outside[:STEERED]:
            self._steered.add((entry.key, bounds))
            for _ in range(WALKS):
                pool.steer(entry, gap)


class Records:
    """Each trial's record decoded once: a finished trial's attributes never change, so its
    record is kept (by trial id); a running one is read again each time."""

    def __init__(self) -> None:
        self._done: dict[int, TrialRecord] = {}

    def of(self, trials: list[FrozenTrial]) -> list[tuple[FrozenTrial, TrialRecord]]:
        out = []
        for t in trials:
            rec = self._done.get(trial_id(t))
            if rec is None:
                rec = TrialRecord.of(t)
                if t.state.is_finished():
                    self._done[trial_id(t)] = rec
            out.append((t, rec))
        return out


def observations(records: list[tuple[FrozenTrial, TrialRecord]]) -> list[tuple[Entry, float]]:
    """Every evaluated network once, with its accuracy (a pruned one at its last report)."""
    out: dict[str, tuple[Entry, float]] = {}
    for t, rec in records:
        if (rec.accuracy is None or rec.key is None or rec.key in out or rec.params is None
                or rec.macs is None):
            continue
        out[rec.key] = (Entry(rec.key, dict(t.params), rec.params, rec.macs), rec.accuracy)
    return list(out.values())


class Model:
    """The accuracy model of the observations so far, kept from trial to trial: extended by
    the new observations, and fitted again (hyper-parameters chosen anew) when the data have
    grown by :data:`~genesynth.synth.samplers.surrogate.REFIT_GROWTH` or an observation changed."""

    def __init__(self, featurizer: Featurizer, observed: list[tuple[Entry, float]]) -> None:
        self.featurizer = featurizer
        self.accuracy: dict[str, float] = {}
        self.gp = AccuracyModel(featurizer.choices)
        self._fit(observed)

    def _fit(self, observed: list[tuple[Entry, float]]) -> None:
        entries = [entry for entry, _ in observed]
        self.gp.fit(self.featurizer.choice_matrix(entries), self.featurizer.cost_matrix(entries),
                    np.array([accuracy for _, accuracy in observed]))
        self.accuracy = {entry.key: accuracy for entry, accuracy in observed}

    def update(self, observed: list[tuple[Entry, float]]) -> None:
        """Take in ``observed`` (every observation so far)."""
        known = {entry.key: accuracy for entry, accuracy in observed}
        changed = any(known.get(key) != accuracy for key, accuracy in self.accuracy.items())
        if changed or self.gp.refit_due(len(observed)):
            self._fit(observed)
            return
        new = [(entry, accuracy) for entry, accuracy in observed if entry.key not in self.accuracy]
        if not new:
            return
        self.accuracy.update((entry.key, accuracy) for entry, accuracy in new)
        entries = [entry for entry, _ in new]
        self.gp.extend(self.featurizer.choice_matrix(entries),
                       self.featurizer.cost_matrix(entries), np.array(list(self.accuracy.values())))

    def predict(self, candidates: list[Entry]) -> Posterior:
        def features(indices: list[int]) -> tuple[np.ndarray, np.ndarray]:
            entries = [candidates[i] for i in indices]
            return self.featurizer.choice_matrix(entries), self.featurizer.cost_matrix(entries)

        return self.gp.predict_keys([entry.key for entry in candidates], features)


def update_model(model: Model | None, featurizer: Featurizer,
                 observed: list[tuple[Entry, float]]) -> Model:
    """``model`` brought up to ``observed``, or a new one."""
    if model is None or model.featurizer is not featurizer:
        return Model(featurizer, observed)
    model.update(observed)
    return model


def _spread(candidates: list[Entry], index: int, count: int, rng: random.Random) -> Entry:
    """A random entry of the ``index``-th of ``count`` equal strata of the candidates ranked
    by log params + log MACs (the startup trials cover the cost range)."""
    ranked = sorted(candidates, key=lambda e: (np.log(max(e.params, 1)) +
                                               np.log(max(e.macs, 1)), e.key))
    low = min(len(ranked) - 1, index * len(ranked) // count)
    high = max(low + 1, (index + 1) * len(ranked) // count)
    return ranked[rng.randrange(low, min(high, len(ranked)))]


def targets(candidates: list[Entry], records: list[tuple[FrozenTrial, TrialRecord]],
            constraint: Constraint, latency: StaticLatency, bands: int = 0
            ) -> tuple[np.ndarray, np.ndarray]:
    """Per candidate, the utility to improve on and the top-1 it must reach: the best
    feasible utility and the accuracy bound; with ``bands``, the best of the candidate's band
    of the family and also the top-1 that puts it on the family's front
    (:func:`~genesynth.synth.samplers.bands.band_targets`)."""
    bound = constraint.min_accuracy if constraint.min_accuracy is not None else -np.inf
    feasible = _feasible(records, constraint)
    floor = _floor(constraint, candidates, latency)
    need = np.full(len(candidates), bound)
    if bands:
        best, front = band_targets([(e.params, e.macs) for e in candidates], feasible, bands,
                                   floor)
        return np.asarray(best, dtype=float), np.maximum(need, front)
    return np.full(len(candidates), max([f[3] for f in feasible], default=floor)), need


def improvement(candidates: list[Entry], post: Posterior, constraint: Constraint, best: np.ndarray,
                need: np.ndarray, latency: StaticLatency | None = None) -> np.ndarray:
    """E[(U(a) - best)+ · 1{a >= need}] per candidate, over its predicted accuracy ``post``
    (Gauss-Hermite nodes), with U the constraint's utility at the candidate's exact costs
    (and predicted latency, with a latency table), in arrays. Only candidates that improve
    at the optimistic end are scored."""
    params = np.array([entry.params for entry in candidates], dtype=float)
    macs = np.array([entry.macs for entry in candidates], dtype=float)
    ms = (np.array([latency.of(entry) for entry in candidates], dtype=float)
          if latency is not None and latency.known else None)
    accuracy = np.clip(post.mean[:, None] + post.std[:, None] * NODES[None, :], 0.0, 100.0)
    upper = constraint.utility.many(accuracy[:, -1:], params, macs, ms)[:, 0]
    hopeful = np.flatnonzero((upper > best) & (accuracy[:, -1] >= need))
    gain = np.zeros(len(candidates))
    if len(hopeful):
        a, floor, level = accuracy[hopeful], best[hopeful, None], need[hopeful, None]
        u = constraint.utility.many(a, params[hopeful], macs[hopeful],
                                    None if ms is None else ms[hopeful])
        gain[hopeful] = np.where(a >= level, np.maximum(u - floor, 0.0), 0.0) @ WEIGHTS
    return gain


def _feasible(records: list[tuple[FrozenTrial, TrialRecord]], constraint: Constraint
              ) -> list[tuple[int, int, float, float]]:
    """(params, MACs, accuracy, utility) of each complete trial feasible under this phase's
    bounds."""
    feasible = []
    for _, rec in records:
        if (rec.state != TrialState.COMPLETE or rec.accuracy is None or rec.params is None
                or rec.macs is None):
            continue
        m = Measurement(rec.accuracy, rec.params, rec.macs, rec.latency_ms)
        if constraint.feasible(m):
            feasible.append((rec.params, rec.macs, rec.accuracy, float(constraint.utility(m))))
    return feasible


def _distance(constraint: Constraint) -> Callable[[Entry], float]:
    """How far a network is outside ``constraint``'s MACs and params bounds: the sum of the
    log-ratios of each broken bound (0 inside)."""
    def gap(entry: Entry) -> float:
        out = 0.0
        for value, low, high in ((entry.macs, constraint.min_macs, constraint.max_macs),
                                 (entry.params, None, constraint.max_params)):
            if high is not None and value > high:
                out += math.log(value / high)
            if low is not None and value < low:
                out += math.log(low / max(value, 1))
        return out

    return gap


def _floor(constraint: Constraint, candidates: list[Entry], latency: StaticLatency) -> float:
    """Below the least a feasible candidate could score (every feasible candidate improves
    on it): the incumbent before any feasible network, and of an empty band."""
    floor = constraint.min_accuracy if constraint.min_accuracy is not None else 0.0
    return min(constraint.utility(latency.measurement(floor, e)) for e in candidates) - 1.0
