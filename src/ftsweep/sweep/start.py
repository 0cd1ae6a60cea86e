"""The start of the adaptive strategies: the trials that explore before a model chooses.

A fine-tuning sweep has 8 to 50 trials, so every exploring trial is a paid job. Before the
sampler's model chooses, a sweep explores with

1. the baseline: the all-"auto" configuration, what the service picks when nothing is set
   (`search: {baseline: false}` turns it off; a space where some dimension has no "auto" has
   none), then
2. the first points of a low-discrepancy design over the space (a scrambled Sobol sequence, or
   a Latin hypercube), seeded by the sweep's seed: every dimension is covered evenly from the
   first few trials, where independent random draws leave gaps and clumps.

How many trials explore (`startup_trials: auto`): one per varying dimension plus one, and never
more than a quarter of `max_trials` (at least 2): 5 for a 4-dimension sweep of 24 trials, 3 at 12.
The trials the study already holds count towards it (an imported history, the baseline), and so
do the finished trials of the sweeps it warm-starts from. `bench/bench_search.py` chose the rule.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ftsweep.api.hyperparameters import AUTO
from ftsweep.sweep.dimensions import Dimension, FloatRange, IntRange, Value
from ftsweep.sweep.space import ConfigKey, Params, Space, SubSpace, configuration_key

if TYPE_CHECKING:
    import numpy as np

    from ftsweep.sweep.load import Sweep

__all__ = [
    "AUTO_SHARE",
    "DIGITS",
    "baseline",
    "design",
    "opening",
    "rounded",
    "startup_trials",
    "varying",
]

DIGITS = 3  # significant digits of a float an adaptive strategy chooses: 1.44, 0.0284

#: The share of a continuous range's design points that are "auto" (the baseline already tries
#: "auto" everywhere; a list of choices gives "auto" its share as one choice among them).
AUTO_SHARE = 0.25
_BLOCK = 256


def varying(space: Space) -> int:
    """The dimensions of the widest sub-space that have more than one value."""
    return max(
        (sum(1 for d in sub.dimensions.values() if d.size != 1) for sub in space.subspaces),
        default=0,
    ) + (len(space.subspaces) > 1)


def startup_trials(sweep: Sweep) -> int:
    """How many trials explore before the model chooses (the file's number, or the rule)."""
    chosen = sweep.spec.search.startup_trials
    if chosen != "auto":
        return int(chosen)
    rule = varying(sweep.space) + 1
    limit = sweep.spec.max_trials
    if limit is not None:
        rule = min(rule, max(2, math.ceil(limit / 4)))
    return rule


def baseline(space: Space) -> Params | None:
    """The all-"auto" configuration: every dimension "auto" or fixed, in the first sub-space
    that allows it; None when none does."""
    for sub in space.subspaces:
        params = _all_auto(sub)
        if params is not None:
            return params
    return None


def _all_auto(sub: SubSpace) -> Params | None:
    if any(len(axis.dimensions) > 1 and axis.size != 1 for axis in sub.axes):
        return None  # a zip group of several rows has no single "auto" row
    params: Params = {}
    for name, dim in sub.dimensions.items():
        if dim.contains(AUTO):
            params[name] = AUTO
        elif dim.size == 1:
            params[name] = dim.value_at(0)
        else:
            return None
    return params if sub.contains(params) else None


def design(space: Space, kind: str, seed: int, first: int) -> Iterator[Params]:
    """The exploring configurations: an endless, seeded sequence over the space whose `first`
    points are spread as one design (repeats are possible on finite spaces; the caller skips
    what it has seen)."""
    choose = len(space.subspaces) > 1
    for block in _blocks(space.width + choose, kind, seed, first):
        for row in block.tolist():
            index = min(int(row[0] * len(space.subspaces)), len(space.subspaces) - 1)
            sub = space.subspaces[index] if choose else space.subspaces[0]
            yield _point(sub, row[1:] if choose else row)


def _point(sub: SubSpace, units: list[float]) -> Params:
    params: Params = {}
    for axis, u in zip(sub.axes, units, strict=False):
        dim = axis.dimensions[0]
        if len(axis.dimensions) == 1 and isinstance(dim, IntRange | FloatRange) and dim.auto:
            params[dim.name] = _auto_range(dim, u)
        else:
            params.update(zip(axis.names, axis.from_unit(u), strict=True))
    return params


def _auto_range(dim: IntRange | FloatRange, u: float) -> Value:
    """A range with "auto": "auto" for the first `AUTO_SHARE` of the unit, a number after."""
    if u < AUTO_SHARE:
        return AUTO
    return dataclasses.replace(dim, auto=False).from_unit((u - AUTO_SHARE) / (1 - AUTO_SHARE))


def _blocks(dimensions: int, kind: str, seed: int, first: int) -> Iterator[np.ndarray]:
    import numpy as np
    from scipy.stats import qmc

    dimensions = max(dimensions, 1)
    if kind == "latin":
        # A hypercube is stratified as a whole: the first `first` points are one, so that the
        # exploring trials cover every dimension evenly; more come in hypercubes of their own.
        engine = qmc.LatinHypercube(d=dimensions, seed=seed)
        yield engine.random(max(first, 1))
        while True:
            yield engine.random(_BLOCK)
    elif kind == "sobol":
        sobol = qmc.Sobol(d=dimensions, scramble=True, seed=seed)
        while True:
            yield sobol.random(_BLOCK)
    else:
        rng = np.random.default_rng(seed)
        while True:
            yield rng.random((_BLOCK, dimensions))


def opening(sweep: Sweep, limit: int = 100_000) -> Iterator[Params]:
    """The start a new study of `sweep` hands out: the baseline (unless turned off), then
    unseen design points, `startup_trials` of them in all (what `plan` shows exactly)."""
    search = sweep.spec.search
    count = startup_trials(sweep)
    first = [p for p in [baseline(sweep.space)] if p is not None and search.baseline]
    seen: set[ConfigKey] = set()
    points = itertools.chain(first, design(sweep.space, search.design, sweep.spec.seed, count))
    for params in itertools.islice(points, limit):
        if len(seen) == count or (sweep.space.size is not None and len(seen) == sweep.space.size):
            return
        params = rounded(sweep.space, params)
        key = configuration_key(params)
        if key not in seen:
            seen.add(key)
            yield params


def rounded(space: Space, params: Params) -> Params:
    """A strategy's continuous floats to `DIGITS` significant digits, as bodies show them."""
    for sub in space.subspaces:
        if sub.contains(params):
            dims = sub.dimensions
            return {name: _round(dims[name], value) for name, value in params.items()}
    return params


def _round(dimension: Dimension, value: Value) -> Value:
    if isinstance(dimension, FloatRange) and dimension.points is None and isinstance(value, float):
        return dimension.rounded(value, DIGITS)
    return value
