"""A small Gaussian process: the model behind the `bayes` strategy (numpy and scipy only).

Matern 5/2 kernel with one length scale per feature (ARD), a constant mean, and a learnt noise
variance, on standardised targets. The hyperparameters maximise the marginal likelihood (L-BFGS-B
with the analytic gradient, from two starts) under a weak log-normal prior on the length scales,
which keeps a model of a dozen points from believing in very short or very long scales. A few
dozen points in a few dimensions fit in milliseconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

__all__ = ["GaussianProcess", "expected_improvement"]

_SQRT5 = math.sqrt(5.0)
_LOG_SCALE = (math.log(0.03), math.log(10.0))
_LOG_SIGNAL = (math.log(0.05), math.log(20.0))
_LOG_NOISE = (math.log(1e-6), math.log(0.5))
_PRIOR_SCALE = (math.log(0.25), 0.75)  # mean and sd of log length scale
_JITTER = 1e-9
_FIT_POINTS = 64  # the most points the hyperparameters are fitted on
#: Where the model expects an unexplored point to land, among the told values: a little worse
#: than their median, so that expected improvement weighs corners less than the best region.
_MEAN_QUANTILE = 0.75


@dataclass
class GaussianProcess:
    """A GP fitted to `x` (n x d, features in [0, 1]) and `y` (n), minimising."""

    x: np.ndarray
    y: np.ndarray

    def __post_init__(self) -> None:
        import numpy as np

        self.mean = float(np.quantile(self.y, _MEAN_QUANTILE))
        self.scale = float(np.std(self.y)) or 1.0
        self.z = (self.y - self.mean) / self.scale
        self.theta = self._fit()
        self._targets = self.z  # the told targets, then the ones `believe` adds
        self._factor(self.x, self.z)

    @property
    def length_scales(self) -> np.ndarray:
        import numpy as np

        scales: np.ndarray = np.exp(self.theta[:-2])
        return scales

    # -- fitting ---------------------------------------------------------------------------

    def _fit(self) -> np.ndarray:
        import numpy as np

        full = (self.x, self.z)
        if len(self.x) > _FIT_POINTS:  # scales from a spread subset: the fit is cubic in n
            keep = np.linspace(0, len(self.x) - 1, _FIT_POINTS).round().astype(int)
            self.x, self.z = self.x[keep], self.z[keep]
        try:
            return self._fitted()
        finally:
            self.x, self.z = full

    def _fitted(self) -> np.ndarray:
        import numpy as np
        from scipy.optimize import minimize

        d = self.x.shape[1]
        bounds = [_LOG_SCALE] * d + [_LOG_SIGNAL, _LOG_NOISE]
        starts = [
            np.r_[np.full(d, math.log(0.5)), 0.0, math.log(1e-3)],
            np.r_[np.full(d, math.log(0.2)), 0.0, math.log(1e-2)],
        ]
        best: tuple[float, np.ndarray] | None = None
        squares = self._squares()  # once a fit, not once an evaluation
        for start in starts:
            try:
                found = minimize(
                    self._objective,
                    start,
                    args=(squares,),
                    jac=True,
                    method="L-BFGS-B",
                    bounds=bounds,
                    options={"maxiter": 200},
                )
            except (np.linalg.LinAlgError, ValueError):
                continue
            if np.isfinite(found.fun) and (best is None or found.fun < best[0]):
                best = (float(found.fun), found.x)
        return starts[0] if best is None else best[1]

    def _squares(self) -> np.ndarray:
        """The squared differences of the points, feature by feature (n x n x d)."""
        squares: np.ndarray = (self.x[:, None, :] - self.x[None, :, :]) ** 2
        return squares

    def _objective(
        self, theta: np.ndarray, squares: np.ndarray | None = None
    ) -> tuple[float, np.ndarray]:
        """Negative log marginal likelihood plus the prior, and its gradient."""
        import numpy as np
        from scipy.linalg import cho_factor, cho_solve

        n, d = self.x.shape
        scales, signal, noise = np.exp(theta[:d]), math.exp(theta[d]), math.exp(theta[d + 1])
        diff2 = (self._squares() if squares is None else squares) / scales**2  # n x n x d
        r = np.sqrt(np.sum(diff2, axis=2))
        e = np.exp(-_SQRT5 * r)
        kf = signal * (1 + _SQRT5 * r + 5.0 / 3.0 * r**2) * e
        k = kf + (noise + _JITTER) * np.eye(n)
        try:
            factor = cho_factor(k, lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            return 1e25, np.zeros_like(theta)
        alpha = cho_solve(factor, self.z, check_finite=False)
        logdet = 2.0 * np.sum(np.log(np.diag(factor[0])))
        mu, sd = _PRIOR_SCALE
        prior = 0.5 * np.sum(((theta[:d] - mu) / sd) ** 2)
        nll = 0.5 * self.z @ alpha + 0.5 * logdet + 0.5 * n * math.log(2 * math.pi) + prior
        inverse = cho_solve(factor, np.eye(n), check_finite=False)
        inner = inverse - np.outer(alpha, alpha)  # K^-1 - a a^T
        grad = np.empty_like(theta)
        shape = signal * 5.0 / 3.0 * (1 + _SQRT5 * r) * e  # dk/dlog(scale_j) = shape * diff2_j
        grad[:d] = 0.5 * np.einsum("ij,ijk->k", inner * shape, diff2) + (theta[:d] - mu) / sd**2
        grad[d] = 0.5 * np.sum(inner * kf)
        grad[d + 1] = 0.5 * noise * np.trace(inner)
        return float(nll), grad

    # -- predicting --------------------------------------------------------------------------

    def _kernel(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        import numpy as np

        d = a.shape[1]
        scales, signal = np.exp(self.theta[:d]), math.exp(self.theta[d])
        r = np.sqrt(np.sum(((a[:, None, :] - b[None, :, :]) / scales) ** 2, axis=2))
        kernel: np.ndarray = signal * (1 + _SQRT5 * r + 5.0 / 3.0 * r**2) * np.exp(-_SQRT5 * r)
        return kernel

    def _factor(self, x: np.ndarray, z: np.ndarray) -> None:
        import numpy as np
        from scipy.linalg import cho_factor, cho_solve

        noise = math.exp(self.theta[-1])
        k = self._kernel(x, x) + (noise + 1e-8) * np.eye(len(x))
        self._x, self._chol = x, cho_factor(k, lower=True)
        self._alpha = cho_solve(self._chol, z)

    def believe(self, x: np.ndarray) -> None:
        """Add points whose outcome is not known yet as if they had come out at the mean told
        (a constant liar): their uncertainty is gone, so the next proposal of a batch goes
        elsewhere unless it is well worth it there; the hyperparameters stay."""
        import numpy as np

        if len(x) == 0:
            return
        self._targets = np.r_[self._targets, np.full(len(x), float(np.mean(self.z)))]
        self._factor(np.vstack([self._x, x]), self._targets)

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation at `x`, in the units of y."""
        import numpy as np
        from scipy.linalg import solve_triangular

        ks = self._kernel(x, self._x)
        mean = ks @ self._alpha
        v = solve_triangular(self._chol[0], ks.T, lower=True)
        signal = math.exp(self.theta[-2])
        var = np.maximum(signal - np.sum(v**2, axis=0), 1e-12)
        return mean * self.scale + self.mean, np.sqrt(var) * self.scale


def expected_improvement(mean: np.ndarray, sd: np.ndarray, best: float) -> np.ndarray:
    """How much each point is expected to improve on `best` (minimising)."""
    import numpy as np
    from scipy.special import ndtr

    gain = best - mean
    z = gain / sd
    gained: np.ndarray = gain * ndtr(z) + sd * np.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)
    return gained
