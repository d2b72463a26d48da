"""The accuracy model: an incremental update is the full fit, and it runs on one BLAS thread."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import genesynth
from genesynth.goal.constraint import Constraint
from genesynth.synth.samplers import surrogate
from genesynth.synth.samplers.linalg import extend_cholesky, one_thread, solve_lower, solve_upper
from genesynth.synth.samplers.surrogate import AccuracyModel, choose_setting
from tests.synth.samplers.test_bayes import PROTO, Smooth


@pytest.fixture(autouse=True)
def _one_blas_thread() -> Iterator[None]:
    """As in the sampler (a threaded BLAS crawls on a busy machine)."""
    with one_thread():
        yield


def _data(n: int, width: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    choices = rng.integers(0, 2, size=(n, width)).astype(float)
    costs = rng.normal(size=(n, 2)) + [10.0, 14.0]
    y = 80 + 3 * costs[:, 0] - 2 * choices[:, 1] + rng.normal(scale=0.3, size=n)
    return choices, costs, y


def test_triangular_solves_match_a_general_solve() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(size=(300, 300))
    chol = np.linalg.cholesky(a @ a.T + 300 * np.eye(300))
    b = rng.normal(size=(300, 7))
    assert np.allclose(solve_lower(chol, b), np.linalg.solve(chol, b))
    assert np.allclose(solve_upper(chol, b), np.linalg.solve(chol.T, b))
    assert np.allclose(solve_lower(chol, b[:, 0]), np.linalg.solve(chol, b[:, 0]))


def test_an_extended_factor_is_the_factor_of_the_whole() -> None:
    rng = np.random.default_rng(2)
    a = rng.normal(size=(200, 200))
    gram = a @ a.T + 200 * np.eye(200)
    chol, _, _ = extend_cholesky(np.linalg.cholesky(gram[:150, :150]), gram[:150, 150:],
                                 gram[150:, 150:])
    assert np.allclose(chol, np.linalg.cholesky(gram))


@pytest.mark.parametrize("step", [1, 7])
def test_the_incremental_model_is_the_full_refit(step: int) -> None:
    """Observations added one (or seven) at a time, candidates' projections kept from trial to
    trial: the posterior of a full fit with the same setting and cost standardisation."""
    choices, costs, y = _data(130)
    model = AccuracyModel(8).fit(choices[:60], costs[:60], y[:60])
    keys = [f"c{i}" for i in range(100, 130)]

    def features(indices: list[int]) -> tuple[np.ndarray, np.ndarray]:
        return choices[100:][indices], costs[100:][indices]

    model.predict_keys(keys[:20], features)  # cached, then extended
    for n in range(60 + step, 101, step):
        model.extend(choices[n - step:n], costs[n - step:n], y[:n])
        model.predict_keys(keys, features)
    n = 60 + step * (40 // step)
    full = AccuracyModel(8).fit(choices[:n], costs[:n], y[:n], model.setting,
                                (model.cost_mean, model.cost_std))
    ours, theirs = model.predict_keys(keys, features), full.predict(choices[100:], costs[100:])
    assert np.allclose(ours.mean, theirs.mean, atol=1e-8)
    assert np.allclose(ours.std, theirs.std, atol=1e-8)
    assert np.allclose(model.chol, full.chol, atol=1e-10)


def test_the_setting_is_chosen_every_trial_then_when_the_data_grow_by_a_tenth() -> None:
    choices, costs, y = _data(200)
    model = AccuracyModel(8).fit(choices[:100], costs[:100], y[:100])
    assert not model.refit_due(109) and model.refit_due(110)
    assert AccuracyModel(8).fit(choices[:40], costs[:40], y[:40]).refit_due(41)


def test_the_setting_is_chosen_on_a_spread_subset_of_many_observations() -> None:
    choices, costs, y = _data(400)
    z = (costs - costs.mean(axis=0)) / costs.std(axis=0)
    target = (y - y.mean()) / y.std()
    every = np.unique(np.linspace(0, 399, 50).round().astype(int))
    assert (choose_setting(choices, z, target, 8, limit=50)
            == choose_setting(choices[every], z[every], target[every], 8, limit=400))


def _blas_threads() -> int:
    return max(info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas")


def test_the_sampler_runs_its_linear_algebra_on_one_blas_thread(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A threaded BLAS is 17-37x slower for these small matrices on a busy machine."""
    seen: list[int] = []
    choose = surrogate.choose_setting

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(_blas_threads())
        return choose(*args, **kwargs)

    monkeypatch.setattr(surrogate, "choose_setting", spy)
    with threadpool_limits(limits=2, user_api="blas"):  # inside the fixture's one thread
        if _blas_threads() < 2:
            pytest.skip("this NumPy's BLAS runs one thread only")
        genesynth.synthesize(PROTO, Constraint(min_accuracy=50.0), trials=7,
                             out=tmp_path / "run", evaluator=Smooth(), family_size=1)
        assert _blas_threads() == 2  # the limit is the sampler's own
    assert seen and set(seen) == {1}
