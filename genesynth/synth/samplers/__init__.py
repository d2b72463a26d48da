"""Samplers and pruners by name.

Callers may pass any Optuna sampler or pruner object; a name is resolved here, once. The
default, ``bayes`` (:class:`~genesynth.synth.samplers.bayes.BayesSampler`), is :class:`SpaceAware`:
the engine binds it to the prototype and the constraint of each search phase; it never
proposes a network the study already holds, so a resumed run goes on from where it was. The
other named samplers draw trial ``n``'s randomness from ``(seed, n)`` alone
(:class:`PerTrialSeed`), so a run resumed after a kill proposes what the uninterrupted run
would have, never its first trials again.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from genesynth.errors import GenesynthError

if TYPE_CHECKING:
    from genesynth.goal.constraint import Constraint
    from genesynth.space import Prototype


@runtime_checkable
class SpaceAware(Protocol):
    """A sampler that samples better knowing the space and the constraint (static bounds,
    exact costs) and the family's size. ``bind`` is called before the first trial of each
    search phase."""

    def bind(self, prototype: Prototype, constraint: Constraint, family_size: int = 4) -> None: ...


def _bayes(seed: int, trials: int) -> optuna.samplers.BaseSampler:
    from genesynth.synth.samplers.bayes import BayesSampler

    return BayesSampler(seed=seed)


def _tpe(seed: int, trials: int) -> optuna.samplers.BaseSampler:
    with warnings.catch_warnings():  # group=True is marked experimental; we rely on it on purpose
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(
            multivariate=True, group=True, constant_liar=True, seed=seed,
            n_startup_trials=max(3, min(10, trials // 4)),
        )


def _nsga2(seed: int, trials: int) -> optuna.samplers.BaseSampler:
    return optuna.samplers.NSGAIISampler(
        seed=seed, population_size=max(4, min(50, trials // 4)),
    )


def _random(seed: int, trials: int) -> optuna.samplers.BaseSampler:
    return optuna.samplers.RandomSampler(seed=seed)


Factory = Callable[[int, int], BaseSampler]

SAMPLERS: dict[str, Factory] = {
    "bayes": _bayes, "tpe": _tpe, "nsga2": _nsga2, "random": _random,
}
DEFAULT_SAMPLER = "bayes"
MULTI_OBJECTIVE = {"nsga2"}
#: Samplers, named or passed as objects, that search the Pareto front of (accuracy, MACs, params).
MULTI_OBJECTIVE_SAMPLERS: tuple[type[optuna.samplers.BaseSampler], ...] = (
    optuna.samplers.NSGAIISampler, optuna.samplers.NSGAIIISampler,
)


def is_multi_objective(sampler: str | optuna.samplers.BaseSampler) -> bool:
    """Whether the run optimises three objectives instead of the utility."""
    if isinstance(sampler, str):
        return sampler in MULTI_OBJECTIVE
    return isinstance(sampler, MULTI_OBJECTIVE_SAMPLERS)


def resolve_sampler(sampler: str | optuna.samplers.BaseSampler | None, seed: int, trials: int
                    ) -> tuple[optuna.samplers.BaseSampler, str]:
    """A sampler object and the name recorded for the run."""
    if sampler is None:
        sampler = DEFAULT_SAMPLER
    if isinstance(sampler, str):
        if sampler not in SAMPLERS:
            raise GenesynthError(
                f"unknown sampler '{sampler}'; expected one of {', '.join(SAMPLERS)}"
            )
        made = SAMPLERS[sampler](seed, trials)
        if isinstance(made, SpaceAware):  # stateful (its pool): one for the whole run
            return made, sampler
        return PerTrialSeed(SAMPLERS[sampler], seed, trials), sampler
    return sampler, type(sampler).__name__


def trial_seed(seed: int, number: int) -> int:
    """The seed of trial ``number`` of a run seeded with ``seed`` (any two differ)."""
    digest = hashlib.sha256(f"genesynth:{seed}:{number}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


class PerTrialSeed(BaseSampler):
    """A sampler made afresh for each trial, seeded with ``trial_seed(seed, trial.number)``.

    The samplers read everything else from the study's finished trials, so what trial ``n``
    proposes depends on the seed and the history only: a resumed run (its process killed and
    started again) continues the sequence instead of restarting it, and workers sharing a
    study, whose trials have different numbers, never propose in lock-step.
    """

    def __init__(self, make: Factory, seed: int, trials: int) -> None:
        self.make = make
        self.seed = seed
        self.trials = trials
        self._made: dict[int, BaseSampler] = {}

    def __str__(self) -> str:
        return str(self.make(self.seed, self.trials))

    def _for(self, trial: FrozenTrial) -> BaseSampler:
        if trial.number not in self._made:
            self._made[trial.number] = self.make(trial_seed(self.seed, trial.number), self.trials)
        return self._made[trial.number]

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._for(trial).before_trial(study, trial)

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial
                                    ) -> dict[str, BaseDistribution]:
        return self._for(trial).infer_relative_search_space(study, trial)

    def sample_relative(self, study: Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        return self._for(trial).sample_relative(study, trial, search_space)

    def sample_independent(self, study: Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        return self._for(trial).sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study: Study, trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        made = self._for(trial)
        del self._made[trial.number]
        made.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        """Nothing to do: each trial's randomness is fixed by the seed and its number."""


def default_pruner(epochs: int) -> optuna.pruners.BasePruner:
    """Stop a candidate that is behind every feasible network at the same epoch (see
    :mod:`genesynth.synth.samplers.pruner`; the median pruned the small networks NetScore
    looks for)."""
    from genesynth.synth.samplers.pruner import BehindFeasiblePruner

    return BehindFeasiblePruner(n_startup_trials=3, n_warmup_steps=max(1, epochs // 3))
