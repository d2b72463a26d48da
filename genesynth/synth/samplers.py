"""Samplers and pruners by name.

Callers may pass any Optuna sampler or pruner object; a name is resolved here, once. The
default, ``bayes`` (:class:`~genesynth.synth.bayes.BayesSampler`), is :class:`SpaceAware`:
the engine binds it to the prototype and the constraint of each search phase.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import optuna

from genesynth.errors import GenesynthError


@runtime_checkable
class SpaceAware(Protocol):
    """A sampler that samples better knowing the space and the constraint (static bounds,
    exact costs). ``bind`` is called before the first trial of each search phase."""

    def bind(self, prototype: Any, constraint: Any) -> None: ...


def _bayes(seed: int, trials: int) -> optuna.samplers.BaseSampler:
    from genesynth.synth.bayes import BayesSampler

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


SAMPLERS: dict[str, Callable[[int, int], optuna.samplers.BaseSampler]] = {
    "bayes": _bayes, "tpe": _tpe, "nsga2": _nsga2, "random": _random,
}
DEFAULT_SAMPLER = "bayes"
MULTI_OBJECTIVE = {"nsga2"}


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
        return SAMPLERS[sampler](seed, trials), sampler
    return sampler, type(sampler).__name__


def default_pruner(epochs: int) -> optuna.pruners.BasePruner:
    """Stop a candidate whose accuracy is below the median of earlier ones at the same epoch."""
    return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=max(1, epochs // 3))
