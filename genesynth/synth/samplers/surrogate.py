"""A small Gaussian-process model of accuracy over architecture features, kept incremental.

Optuna's GP (``optuna._gp``, used by GPSampler) needs SciPy, which genesynth does not depend
on, and models the parameters it is given rather than features such as exact costs; so this
is a plain exact GP in NumPy: a squared-exponential kernel on the choices and on the log costs
plus a linear trend in the log costs, its three scales and the noise chosen by the marginal
likelihood over a fixed grid (the signal variance in closed form).

What it costs per trial, with n observations and m candidates:

- :func:`choose_setting` (the grid, 90 Cholesky factorisations) runs on at most
  :data:`HYPER_LIMIT` observations spread over the data, with the distances computed once;
  :class:`AccuracyModel` calls it every trial up to :data:`REFIT_ALWAYS` observations, then
  only when the data have grown by :data:`REFIT_GROWTH` since the last choice (every ~100
  trials at 1,000);
- in between, :meth:`AccuracyModel.extend` extends the Cholesky factor by the new rows
  (block update, O(n²) per observation) instead of factorising again;
- :meth:`AccuracyModel.predict` keeps each candidate's projection ``L⁻¹ k`` by key and
  extends it by the new observations (O(n) per candidate and observation), so only new
  candidates pay a triangular solve (O(n²) each).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from genesynth.synth.samplers.linalg import extend_cholesky, solve_lower, solve_upper

#: The grid searched for the hyper-parameters (relative to standardised features and targets).
CHOICE_SCALES = (0.5, 1.0, 2.0)  # length scale of the choice distance (share of choices)
COST_SCALES = (0.5, 1.0, 2.0)  # length scale of the standardised log costs
TRENDS = (0.0, 1.0)  # weight of the linear trend in the log costs
NOISES = (1e-3, 1e-2, 0.1, 0.3, 1.0)  # noise variance as a share of the signal variance
#: The hyper-parameters are chosen on at most this many observations (spread over the data).
HYPER_LIMIT = 256
#: ... chosen again every trial up to this many observations (the grid costs milliseconds),
REFIT_ALWAYS = 64
#: ... and past it once the observations have grown by this share since the last choice.
REFIT_GROWTH = 0.1
JITTER = 1e-8

Setting = tuple[float, float, float, float]  # choice scale, cost scale, trend, noise
DEFAULT_SETTING: Setting = (1.0, 1.0, 1.0, 0.3)


@dataclass(frozen=True)
class Posterior:
    mean: np.ndarray  # predicted accuracy, percent
    std: np.ndarray  # of a new measurement, percent


def sqdist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances between the rows of ``a`` and of ``b``."""
    out = (a * a).sum(axis=1)[:, None] + (b * b).sum(axis=1)[None, :] - 2.0 * a @ b.T
    return np.maximum(out, 0.0)


@dataclass(frozen=True)
class Kernel:
    """k(x, x') = exp(-d_choice/2c² - d_cost/2s²) + trend·(1 + z·z'), on one-hot choices
    (squared distance divided by ``width``: the share of differing choices) and standardised
    log costs ``z``."""

    width: int
    setting: Setting

    def __call__(self, c1: np.ndarray, z1: np.ndarray, c2: np.ndarray, z2: np.ndarray
                 ) -> np.ndarray:
        return self.from_distances(sqdist(c1, c2) / self.width, sqdist(z1, z2), z1 @ z2.T)

    def from_distances(self, d_choice: np.ndarray, d_cost: np.ndarray, dot: np.ndarray
                       ) -> np.ndarray:
        choice_scale, cost_scale, trend, _ = self.setting
        rbf = np.exp(-0.5 * d_choice / choice_scale**2 - 0.5 * d_cost / cost_scale**2)
        return rbf + trend * (1.0 + dot)

    def prior(self, z: np.ndarray) -> np.ndarray:
        """k(x, x) (without the noise)."""
        return 1.0 + self.setting[2] * (1.0 + (z * z).sum(axis=1))

    def gram(self, c: np.ndarray, z: np.ndarray) -> np.ndarray:
        """k(X, X) + noise·I."""
        out = self(c, z, c, z)
        out[np.diag_indices_from(out)] += self.setting[3] + JITTER
        return out


def choose_setting(choices: np.ndarray, z: np.ndarray, target: np.ndarray, width: int,
                   limit: int = HYPER_LIMIT) -> Setting:
    """The grid setting of the largest marginal likelihood (signal variance profiled out), on
    at most ``limit`` observations spread evenly over the data; distances computed once."""
    n = len(target)
    if n > limit:
        keep = np.unique(np.linspace(0, n - 1, limit).round().astype(int))
        choices, z, target = choices[keep], z[keep], target[keep]
        n = len(target)
    d_choice, d_cost, dot = sqdist(choices, choices) / width, sqdist(z, z), z @ z.T
    best: tuple[float, Setting] | None = None
    for scales in itertools.product(CHOICE_SCALES, COST_SCALES):
        rbf = np.exp(-0.5 * d_choice / scales[0]**2 - 0.5 * d_cost / scales[1]**2)
        for trend, noise in itertools.product(TRENDS, NOISES):
            gram = rbf + trend * (1.0 + dot)
            gram[np.diag_indices_from(gram)] += noise + JITTER
            try:
                chol = np.linalg.cholesky(gram)
            except np.linalg.LinAlgError:
                continue
            w = solve_lower(chol, target)
            quad = max(float(w @ w), 1e-12)
            fit = -0.5 * n * math.log(quad / n) - float(np.log(np.diag(chol)).sum())
            if best is None or fit > best[0]:
                best = (fit, (*scales, trend, noise))
    return best[1] if best is not None else DEFAULT_SETTING


class AccuracyModel:
    """``fit(choices, costs, accuracy)``, then ``extend`` by new observations, and
    ``predict(choices, costs)``.

    ``choices`` is a 0/1 (or [0, 1]) matrix whose squared distance, divided by ``width``,
    is the share of differing choices; ``costs`` holds log params and log MACs. ``fit``
    standardises the costs and factorises the kernel; ``extend`` keeps that standardisation
    and the setting and extends the factor, so it gives the posterior a ``fit`` with the same
    setting and standardisation would (:meth:`refit_due` says when to choose them again).
    """

    def __init__(self, width: int) -> None:
        self.width = max(1, width)
        self.fitted_at = 0  # observations when the setting was last chosen
        self._cache = Projections()

    # -- fitting ----------------------------------------------------------------------------

    def fit(self, choices: np.ndarray, costs: np.ndarray, y: np.ndarray,
            setting: Setting | None = None,
            cost_scaling: tuple[np.ndarray, np.ndarray] | None = None) -> AccuracyModel:
        """Standardise the costs (unless ``cost_scaling`` gives their mean and std), choose
        the setting (unless given) and factorise: O(n³)."""
        if cost_scaling is None:
            std = costs.std(axis=0)
            cost_scaling = costs.mean(axis=0), np.where(std > 1e-9, std, 1.0)
        self.cost_mean, self.cost_std = cost_scaling
        self.x_choices, self.x_costs = choices, self._z(costs)
        target = self._standardise(y)
        self.setting = setting or choose_setting(self.x_choices, self.x_costs, target,
                                                 self.width)
        self.kernel = Kernel(self.width, self.setting)
        self.chol = np.linalg.cholesky(self.kernel.gram(self.x_choices, self.x_costs))
        self.fitted_at = len(y)
        self._cache = Projections()
        self._solve(target)
        return self

    def extend(self, choices: np.ndarray, costs: np.ndarray, y: np.ndarray) -> AccuracyModel:
        """Add observations (``choices``/``costs``: the new rows; ``y``: every accuracy, the
        new last) with the setting and standardisation kept: O(n²) per new row. Falls back
        to a full ``fit`` with the same setting if the extended kernel is not positive
        definite."""
        z = self._z(costs)
        cross = self.kernel(self.x_choices, self.x_costs, choices, z)
        corner = self.kernel.gram(choices, z)
        try:
            chol, below, corner_chol = extend_cholesky(self.chol, cross, corner)
        except np.linalg.LinAlgError:
            all_costs = np.vstack([self.x_costs * self.cost_std + self.cost_mean, costs])
            return self.fit(np.vstack([self.x_choices, choices]), all_costs, y, self.setting,
                            (self.cost_mean, self.cost_std))
        self._cache.extend(self.kernel, choices, z, below, corner_chol)
        self.chol = chol
        self.x_choices = np.vstack([self.x_choices, choices])
        self.x_costs = np.vstack([self.x_costs, z])
        self._solve(self._standardise(y))
        return self

    def refit_due(self, observations: int) -> bool:
        """Whether to choose the setting again (and factorise afresh) at ``observations``."""
        if observations <= REFIT_ALWAYS:
            return True
        return observations >= self.fitted_at + max(1, math.ceil(REFIT_GROWTH * self.fitted_at))

    def _standardise(self, y: np.ndarray) -> np.ndarray:
        self.y_mean = float(y.mean())
        self.y_std = float(y.std()) if y.std() > 1e-9 else 1.0
        return (y - self.y_mean) / self.y_std

    def _solve(self, target: np.ndarray) -> None:
        self.w = solve_lower(self.chol, target)  # L⁻¹ y
        self.alpha = solve_upper(self.chol, self.w)  # K⁻¹ y
        self.scale = max(float(self.w @ self.w) / len(target), 1e-6)  # signal variance

    def _z(self, costs: np.ndarray) -> np.ndarray:
        return (costs - self.cost_mean) / self.cost_std

    # -- predicting -------------------------------------------------------------------------

    def predict(self, choices: np.ndarray, costs: np.ndarray) -> Posterior:
        """The posterior of a new measurement of each row: O(n²) per row."""
        z = self._z(costs)
        proj = solve_lower(self.chol, self.kernel(self.x_choices, self.x_costs, choices, z))
        return self._posterior(self.w @ proj, (proj * proj).sum(axis=0), z)

    def predict_keys(self, keys: Sequence[str], features: Features) -> Posterior:
        """:meth:`predict` of the networks ``keys`` whose features never change:
        ``features(indices)`` gives the choices and costs of ``keys[i]`` for each index. Each
        candidate's projection is kept and extended as observations come (O(n) each per
        observation); only a candidate not seen since the last ``fit`` is solved for."""
        rows = self._cache.rows_of(keys, features, self)
        cache = self._cache
        return self._posterior((cache.proj @ self.w)[rows], cache.sq[rows], cache.z[rows])

    def _posterior(self, mean: np.ndarray, sq: np.ndarray, z: np.ndarray) -> Posterior:
        """From each candidate's projected mean ``k·K⁻¹y`` (standardised), its squared
        projection ``|L⁻¹k|²`` and its standardised costs."""
        var = np.maximum(self.kernel.prior(z) - sq, 1e-9) + self.setting[3]
        return Posterior(self.y_mean + self.y_std * mean, self.y_std * np.sqrt(self.scale * var))


Features = Callable[[list[int]], tuple[np.ndarray, np.ndarray]]


class Projections:
    """Per candidate (by key): its projection ``L⁻¹ k(X, x)`` on the current factor, the sum
    of its squares, and its features (to extend it when the factor grows)."""

    def __init__(self) -> None:
        self.rows: dict[str, int] = {}
        self._proj = Growing()  # candidates x observations
        self.sq = np.zeros(0)
        self.choices = np.zeros((0, 0))
        self.z = np.zeros((0, 2))

    def extend(self, kernel: Kernel, choices: np.ndarray, z: np.ndarray, below: np.ndarray,
               corner_chol: np.ndarray) -> None:
        """The factor grew by rows ``[below.T, corner_chol]`` for new observations."""
        if not self.rows:
            return
        cross = kernel(self.choices, self.z, choices, z)  # candidates x new
        new = solve_lower(corner_chol, (cross - self.proj @ below).T).T
        self._proj.add_columns(new)
        self.sq = self.sq + (new * new).sum(axis=1)

    @property
    def proj(self) -> np.ndarray:
        return self._proj.view

    def rows_of(self, keys: Sequence[str], features: Features, model: AccuracyModel
                ) -> np.ndarray:
        """The rows of ``keys``, solving only for keys not seen; when keys no longer asked
        for outnumber those asked, they are dropped."""
        if len(self.rows) > 2 * len(keys) + 1000:
            self._keep([key for key in keys if key in self.rows])
        missing = [i for i, key in enumerate(keys) if key not in self.rows]
        if missing:
            choices, costs = features(missing)
            z = model._z(costs)
            fresh = solve_lower(model.chol, model.kernel(model.x_choices, model.x_costs,
                                                         choices, z)).T
            start = len(self.rows)
            self.rows.update((keys[i], start + j) for j, i in enumerate(missing))
            self._proj.add_rows(fresh)
            self.sq = np.concatenate([self.sq, (fresh * fresh).sum(axis=1)])
            self.choices = np.vstack([self.choices.reshape(start, choices.shape[1]), choices])
            self.z = np.vstack([self.z, z])
        return np.fromiter((self.rows[key] for key in keys), dtype=np.intp, count=len(keys))

    def _keep(self, keys: list[str]) -> None:
        index = np.fromiter((self.rows[key] for key in keys), dtype=np.intp, count=len(keys))
        self.rows = {key: i for i, key in enumerate(keys)}
        self._proj.keep(index)
        self.sq = self.sq[index]
        self.choices, self.z = self.choices[index], self.z[index]


class Growing:
    """A matrix grown by rows and by columns in place (its buffer grows by half when full),
    so adding a column to m x n costs O(m), not a copy of the whole."""

    def __init__(self) -> None:
        self._data = np.zeros((0, 0))
        self.rows = self.cols = 0

    @property
    def view(self) -> np.ndarray:
        return self._data[:self.rows, :self.cols]

    def _reserve(self, rows: int, cols: int) -> None:
        if rows <= self._data.shape[0] and cols <= self._data.shape[1]:
            return
        grown = np.empty((max(rows, self._data.shape[0] * 3 // 2),
                          max(cols, self._data.shape[1] * 3 // 2)))
        if self.rows:
            grown[:self.rows, :self.cols] = self.view
        self._data = grown

    def add_columns(self, block: np.ndarray) -> None:
        self._reserve(self.rows, self.cols + block.shape[1])
        self._data[:self.rows, self.cols:self.cols + block.shape[1]] = block
        self.cols += block.shape[1]

    def add_rows(self, block: np.ndarray) -> None:
        if self.rows == 0:
            self.cols = block.shape[1]
        self._reserve(self.rows + block.shape[0], self.cols)
        self._data[self.rows:self.rows + block.shape[0], :self.cols] = block
        self.rows += block.shape[0]

    def keep(self, index: np.ndarray) -> None:
        """Only the rows ``index``, in that order."""
        kept = self.view[index]
        self._data, self.rows = kept, len(index)
        self.cols = kept.shape[1]
