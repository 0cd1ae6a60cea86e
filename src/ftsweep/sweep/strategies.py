"""Static strategies: the seeded sequence of configurations a sweep hands out.

- grid: every point of a finite space, in order.
- random: seeded; a finite space is visited without repeats (a seeded permutation of its grid);
  a space with continuous ranges is sampled per index.
- sobol: a scrambled, seeded Sobol sequence mapped onto the space; repeats on finite spaces are
  skipped.
Adaptive strategies (bayes, tpe, gp, cmaes, nsga2) choose each trial's values when it is asked,
from the study's told results, after a seeded start (`ftsweep.sweep.start`): `plan` shows that
start exactly, then seeded random points of the space, which are not what `ask` will hand out.

Each sequence is deterministic in the sweep's seed alone: the same file and seed give the same
plan in any process.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from typing import TYPE_CHECKING, get_args

from ftsweep.sweep.grid import Grid, Permutation
from ftsweep.sweep.space import ConfigKey, Params, Space, configuration_key
from ftsweep.sweep.spec import StrategyName

if TYPE_CHECKING:
    import numpy as np

__all__ = ["ADAPTIVE", "STATIC", "STRATEGIES", "sequence"]

#: Every strategy a sweep file may name; the static ones hand out a fixed, seeded sequence, the
#: adaptive ones ask an Optuna sampler that learns from the told results.
STRATEGIES: tuple[StrategyName, ...] = get_args(StrategyName)
STATIC: tuple[StrategyName, ...] = ("grid", "random", "sobol")
ADAPTIVE = tuple(s for s in STRATEGIES if s not in STATIC)
_SOBOL_BLOCK = 1024


def sequence(space: Space, strategy: str, seed: int, start: int = 0) -> Iterator[Params]:
    """The strategy's configurations from position `start` on (endless for infinite spaces)."""
    if strategy == "grid":
        return Grid(space).iter_from(start)
    if strategy == "sobol":
        points = _sobol(space, seed)
        if space.size is not None:  # continuous values never repeat; finite spaces would
            points = _distinct(points, space.size)
        return itertools.islice(points, start, None)
    return _random(space, seed, start)


def _random(space: Space, seed: int, start: int) -> Iterator[Params]:
    if space.size is not None:
        grid, order = Grid(space), Permutation(space.size, seed)
        return (grid[order[i]] for i in range(start, space.size))
    return (_random_point(space, seed, i) for i in itertools.count(start))


def _random_point(space: Space, seed: int, index: int) -> Params:
    rng = random.Random(f"ftsweep:{seed}:{index}")  # str seeds hash the same in every process
    sub = space.subspaces[rng.randrange(len(space.subspaces))]
    return sub.params_from_units([rng.random() for _ in sub.axes])


def _sobol(space: Space, seed: int) -> Iterator[Params]:
    choose = len(space.subspaces) > 1
    for block in _sobol_blocks(space.width + choose, seed):
        for row in block.tolist():
            sub = space.subspaces[min(int(row[0] * len(space.subspaces)), len(space.subspaces) - 1)]
            yield sub.params_from_units(row[1:] if choose else row)


def _sobol_blocks(dimensions: int, seed: int) -> Iterator[np.ndarray]:
    from scipy.stats import qmc

    engine = qmc.Sobol(d=dimensions, scramble=True, seed=seed)
    while True:
        yield engine.random(_SOBOL_BLOCK)


def _distinct(points: Iterator[Params], size: int) -> Iterator[Params]:
    """Drop repeats, and stop once a finite space has been covered."""
    seen: set[ConfigKey] = set()
    for params in points:
        marker = configuration_key(params)
        if marker in seen:
            continue
        seen.add(marker)
        yield params
        if len(seen) == size:
            return
