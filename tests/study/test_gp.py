"""The Gaussian process behind `bayes`: its gradient, its fit, the liar, expected improvement."""

from __future__ import annotations

import numpy as np
from scipy.optimize import approx_fprime

from ftsweep.study.gp import GaussianProcess, expected_improvement


def smooth(x: np.ndarray) -> np.ndarray:
    return np.sin(3 * x[:, 0]) + 0.5 * x[:, 1] ** 2


def test_the_gradient_is_the_likelihoods() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((12, 3))
    gp = GaussianProcess(x, smooth(x))
    theta = gp.theta + 0.1 * rng.standard_normal(len(gp.theta))
    numeric = approx_fprime(theta, lambda t: gp._objective(t)[0], 1e-6)
    assert np.allclose(gp._objective(theta)[1], numeric, rtol=1e-3, atol=1e-4)


def test_a_smooth_function_is_learnt_and_the_idle_dimension_found() -> None:
    rng = np.random.default_rng(1)
    x = rng.random((20, 3))  # the third feature does nothing
    gp = GaussianProcess(x, smooth(x))
    test = rng.random((300, 3))
    mean, _ = gp.predict(test)
    assert np.sqrt(np.mean((mean - smooth(test)) ** 2)) < 0.25 * np.std(smooth(test))
    scales = gp.length_scales
    assert scales[2] > scales[0]


def test_a_point_held_by_the_liar_is_no_longer_uncertain() -> None:
    rng = np.random.default_rng(2)
    x = rng.random((10, 2))
    gp = GaussianProcess(x, smooth(x))
    far = np.array([[0.95, 0.05]])
    before = gp.predict(far)[1][0]
    gp.believe(far)
    assert gp.predict(far)[1][0] < 0.2 * before


def test_expected_improvement_favours_low_means_and_uncertainty() -> None:
    gain = expected_improvement(np.array([1.0, 0.5, 1.0]), np.array([0.1, 0.1, 0.5]), 0.8)
    assert gain[1] > gain[0] and gain[2] > gain[0] and np.all(gain >= 0)
