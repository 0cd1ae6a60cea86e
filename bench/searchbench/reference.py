"""Each surface's optimum, by dense search over its space, and its scale, from random points.

The optimum is searched on a grid (every value of the finite dimensions, 121 points of each
continuous range, log-spaced where the range is, and "auto"), then refined around the best
point on ever finer local grids of the continuous dimensions. The scale is the median value of
4,000 configurations of ftsweep's random sequence (seed 7) that do not fail: "typical", the
regret a blind choice has. Both are computed once per process and cached.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from searchbench.surfaces import BY_NAME, Surface

GRID_POINTS = 121
REFINE_POINTS = 21
REFINE_ROUNDS = 8
TOP = 10  # grid points refined
RANDOM_POINTS = 4_000
RANDOM_SEED = 7


@dataclass(frozen=True)
class Reference:
    """What a run's results are measured against, on one surface."""

    optimum: float
    best: dict[str, float]  # the resolved numbers at the optimum
    auto: float  # the all-"auto" configuration's value (what a run without a sweep gets)
    random_median: float  # median over random configurations that do not fail
    random_within: float  # share of random configurations within 1% of the optimum
    random_fails: float  # share of random configurations whose job fails
    size: int | None  # configurations in the space; None: infinite

    @property
    def gap(self) -> float:
        """The regret of a typical random configuration: normalised regret divides by it."""
        return abs(self.random_median - self.optimum)

    def within(self, value: float) -> bool:
        """Within 1% of the optimum: |f - f*| <= 0.01 |f*|."""
        return abs(value - self.optimum) <= 0.01 * abs(self.optimum)


@cache
def reference(name: str) -> Reference:
    from ftsweep.sweep.load import loads_sweep
    from ftsweep.sweep.strategies import sequence

    surface = BY_NAME[name]
    sweep = loads_sweep(surface.sweep_text("random", 1, 0))
    dims = sweep.space.subspaces[0].dimensions
    optimum, best = _dense(surface, dims)
    points = list(itertools.islice(sequence(sweep.space, "random", RANDOM_SEED), RANDOM_POINTS))
    values = surface.formula(surface.columns(points))
    ok = values[~np.isnan(values)]
    within = np.abs(ok - optimum) <= 0.01 * abs(optimum)
    auto = surface.true_value({})
    assert auto is not None, f"{name}: the all-auto job must not fail"
    return Reference(
        optimum=optimum,
        best=best,
        auto=auto,
        random_median=float(np.median(ok)),
        random_within=float(within.sum() / len(values)),
        random_fails=float(1 - len(ok) / len(values)),
        size=sweep.space.size,
    )


def _dense(surface: Surface, dims: dict[str, Any]) -> tuple[float, dict[str, float]]:
    """The best of the grid's best points, each refined: the grid's very best may sit in the
    wrong discrete cell only because its continuous values fall between grid points."""
    axes, ranges = _axes(surface, dims)
    found = [_refined(surface, axes, ranges, start) for start in _best(surface, axes, TOP)]
    return min(found, key=lambda vb: float(_score(surface, vb[0])))


def _refined(
    surface: Surface,
    axes: dict[str, np.ndarray],
    ranges: dict[str, tuple[float, float, bool]],
    start: tuple[float, dict[str, float]],
) -> tuple[float, dict[str, float]]:
    """Zoom in on the continuous dimensions around `start`, the others held."""
    value, best = start
    axes = dict(axes)
    for _ in range(REFINE_ROUNDS):
        local = {name: np.array([best[name]]) for name in axes}
        for name, (low, high, log) in ranges.items():
            local[name] = axes[name] = _around(best[name], axes[name], low, high, log)
        found, where = _best(surface, local, 1)[0]
        if _score(surface, found) < _score(surface, value):
            value, best = found, where
    return value, best


def _axes(
    surface: Surface, dims: dict[str, Any]
) -> tuple[dict[str, np.ndarray], dict[str, tuple[float, float, bool]]]:
    """Candidate numbers per hyperparameter, and the continuous ranges among them."""
    axes: dict[str, np.ndarray] = {}
    ranges: dict[str, tuple[float, float, bool]] = {}
    for name, auto in surface.auto.items():
        dim = dims.get(name)
        if dim is None:
            axes[name] = np.array([auto])
        elif dim.size is not None:
            values = [surface.resolved({name: dim.value_at(i)})[name] for i in range(dim.size)]
            axes[name] = np.unique(values)
        else:
            spread = np.geomspace if dim.log else np.linspace
            grid = spread(dim.low, dim.high, GRID_POINTS)
            axes[name] = np.unique(np.append(grid, auto) if dim.auto else grid)
            ranges[name] = (dim.low, dim.high, dim.log)
    return axes, ranges


def _around(x: float, axis: np.ndarray, low: float, high: float, log: bool) -> np.ndarray:
    """A finer grid between the neighbours of `x` on its last grid."""
    i = int(np.searchsorted(axis, x))
    left = axis[max(i - 1, 0)] if i > 0 else low
    right = axis[min(i + 1, len(axis) - 1)] if i + 1 < len(axis) else high
    spread = np.geomspace if log else np.linspace
    return np.unique(np.append(spread(max(left, low), min(right, high), REFINE_POINTS), x))


def _best(
    surface: Surface, axes: dict[str, np.ndarray], top: int
) -> list[tuple[float, dict[str, float]]]:
    """The `top` best points of the product of `axes`, best first."""
    names = list(axes)
    mesh = np.meshgrid(*(axes[n] for n in names), indexing="ij")
    columns = {n: m.ravel() for n, m in zip(names, mesh, strict=True)}
    values = surface.formula(columns)
    order = np.argsort(_score(surface, values), kind="stable")[:top]
    return [(float(values[i]), {n: float(columns[n][i]) for n in names}) for i in order]


def _score(surface: Surface, values: Any) -> Any:
    """Lower is better, failures worst."""
    signed = np.asarray(values, float) * (1.0 if surface.direction == "minimize" else -1.0)
    return np.where(np.isnan(signed), np.inf, signed)
