"""A small Gaussian-process model of accuracy over architecture features.

Optuna's GP (``optuna._gp``, used by GPSampler) needs SciPy, which genesynth does not depend
on, and models the parameters it is given rather than features such as exact costs; so this
is a plain exact GP in NumPy, kept small: a squared-exponential kernel on the choices and on
the log costs plus a linear trend in the log costs, its three scales and the noise chosen by
the marginal likelihood over a fixed grid (the signal variance in closed form). With at most
a few hundred observations a fit is a few dozen Cholesky factorisations of n x n.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

#: The grid searched for the hyper-parameters (relative to standardised features and targets).
CHOICE_SCALES = (0.5, 1.0, 2.0)  # length scale of the choice distance (share of choices)
COST_SCALES = (0.5, 1.0, 2.0)  # length scale of the standardised log costs
TRENDS = (0.0, 1.0)  # weight of the linear trend in the log costs
NOISES = (1e-3, 1e-2, 0.1, 0.3, 1.0)  # noise variance as a share of the signal variance


@dataclass(frozen=True)
class Posterior:
    mean: np.ndarray  # predicted accuracy, percent
    std: np.ndarray  # of a new measurement, percent


class AccuracyModel:
    """``fit(choices, costs, accuracy)`` then ``predict(choices, costs)``.

    ``choices`` is a 0/1 (or [0, 1]) matrix whose squared distance, divided by ``width``,
    is the share of differing choices; ``costs`` holds log params and log MACs.
    """

    def __init__(self, width: int) -> None:
        self.width = max(1, width)

    def fit(self, choices: np.ndarray, costs: np.ndarray, y: np.ndarray) -> AccuracyModel:
        self.cost_mean = costs.mean(axis=0)
        self.cost_std = np.where(costs.std(axis=0) > 1e-9, costs.std(axis=0), 1.0)
        self.y_mean = float(y.mean())
        self.y_std = float(y.std()) if y.std() > 1e-9 else 1.0
        self.x_choices, self.x_costs = choices, self._z(costs)
        target = (y - self.y_mean) / self.y_std
        best: tuple[float, tuple[float, float, float, float]] | None = None
        for setting in itertools.product(CHOICE_SCALES, COST_SCALES, TRENDS, NOISES):
            fit = self._likelihood(target, setting)
            if fit is not None and (best is None or fit > best[0]):
                best = (fit, setting)
        self.setting = best[1] if best is not None else (1.0, 1.0, 1.0, 0.3)
        gram = self._kernel(self.x_choices, self.x_costs, self.x_choices, self.x_costs)
        gram[np.diag_indices_from(gram)] += self.setting[3] + 1e-8
        self.chol = np.linalg.cholesky(gram)
        self.alpha = _solve(self.chol, target)
        self.scale = max(float(target @ self.alpha) / len(target), 1e-6)  # signal variance
        return self

    def predict(self, choices: np.ndarray, costs: np.ndarray) -> Posterior:
        cross = self._kernel(choices, self._z(costs), self.x_choices, self.x_costs)
        mean = cross @ self.alpha
        v = np.linalg.solve(self.chol, cross.T)
        prior = 1.0 + self.setting[2] * (1.0 + (self._z(costs) ** 2).sum(axis=1))
        var = np.maximum(prior - (v * v).sum(axis=0), 1e-9) + self.setting[3]
        return Posterior(self.y_mean + self.y_std * mean,
                         self.y_std * np.sqrt(self.scale * var))

    def _z(self, costs: np.ndarray) -> np.ndarray:
        return (costs - self.cost_mean) / self.cost_std

    def _kernel(self, c1: np.ndarray, z1: np.ndarray, c2: np.ndarray, z2: np.ndarray,
                setting: tuple[float, float, float, float] | None = None) -> np.ndarray:
        choice_scale, cost_scale, trend, _ = setting or self.setting
        d_choice = _sqdist(c1, c2) / self.width
        d_cost = _sqdist(z1, z2)
        rbf = np.exp(-0.5 * d_choice / choice_scale**2 - 0.5 * d_cost / cost_scale**2)
        return rbf + trend * (1.0 + z1 @ z2.T)

    def _likelihood(self, target: np.ndarray, setting: tuple[float, float, float, float]
                    ) -> float | None:
        """Log marginal likelihood with the signal variance profiled out."""
        gram = self._kernel(self.x_choices, self.x_costs, self.x_choices, self.x_costs, setting)
        gram[np.diag_indices_from(gram)] += setting[3] + 1e-8
        try:
            chol = np.linalg.cholesky(gram)
        except np.linalg.LinAlgError:
            return None
        n = len(target)
        quad = max(float(target @ _solve(chol, target)), 1e-12)
        return -0.5 * n * np.log(quad / n) - float(np.log(np.diag(chol)).sum())


def _sqdist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = (a * a).sum(axis=1)[:, None] + (b * b).sum(axis=1)[None, :] - 2.0 * a @ b.T
    return np.maximum(out, 0.0)


def _solve(chol: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.linalg.solve(chol.T, np.linalg.solve(chol, b))
