"""The lazy grid (a sequence decoded on demand) and the seeded permutation of its indices."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ftsweep.sweep import loads_sweep
from ftsweep.sweep.dimensions import Categorical, Dimension, FloatRange, IntRange
from ftsweep.sweep.grid import Grid, Permutation
from ftsweep.sweep.space import Axis, Space, SubSpace

from .conftest import sweep_yaml

SETTINGS = settings(max_examples=60, deadline=None)
NAMES = ("n_epochs", "batch_size", "learning_rate_multiplier", "beta", "model")


@st.composite
def finite_dimensions(draw: st.DrawFn, name: str) -> Dimension:
    auto = draw(st.booleans())
    kind = draw(st.sampled_from(["choices", "int", "float"]))
    if kind == "choices":
        values = draw(st.lists(st.integers(1, 9), min_size=1, max_size=4, unique=True))
        return Categorical(name, tuple(["auto", *values] if auto else values))
    if kind == "int":
        low = draw(st.integers(1, 20))
        return IntRange(
            name,
            low,
            low + draw(st.integers(0, 4)),
            step=draw(st.sampled_from([None, 2])),
            auto=auto,
        )
    base = draw(st.sampled_from([0.1, 0.5, 1.0]))
    return FloatRange(
        name, base, base * 8, log=draw(st.booleans()), num=draw(st.integers(2, 4)), auto=auto
    )


@st.composite
def subspaces(draw: st.DrawFn) -> SubSpace:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True))
    dims = [draw(finite_dimensions(n)) for n in names]
    axes: list[Axis] = []
    for dim in dims:
        if (
            axes
            and axes[-1].size == dim.size
            and len(axes[-1].dimensions) == 1
            and draw(st.booleans())
        ):
            axes[-1] = Axis((*axes[-1].dimensions, dim))  # zip with the previous one
        else:
            axes.append(Axis((dim,)))
    return SubSpace(tuple(axes))


spaces = st.lists(subspaces(), min_size=1, max_size=3).map(lambda subs: Space(tuple(subs)))


@SETTINGS
@given(spaces)
def test_grid_is_its_indexing(space: Space) -> None:
    grid = Grid(space)
    points = list(grid)
    assert len(points) == len(grid) == space.size
    assert points == [grid[i] for i in range(len(grid))]
    assert all(space.contains(p) for p in points)


@SETTINGS
@given(spaces, st.data())
def test_negative_indices_and_the_end(space: Space, data: st.DataObject) -> None:
    grid = Grid(space)
    i = data.draw(st.integers(1, len(grid)))
    assert grid[-i] == grid[len(grid) - i]
    with pytest.raises(
        IndexError, match=f"grid index {len(grid)} out of range for a grid of {len(grid)}"
    ):
        grid[len(grid)]
    with pytest.raises(IndexError):
        grid[-len(grid) - 1]


@SETTINGS
@given(subspaces())
def test_index_inverts_getitem(sub: SubSpace) -> None:
    grid = Grid(Space((sub,)))  # the points of one sub-space are distinct
    assert [grid.index(grid[i]) for i in range(len(grid))] == list(range(len(grid)))


@SETTINGS
@given(spaces)
def test_index_of_a_union_is_the_first_equal_point(space: Space) -> None:
    grid = Grid(space)
    points = list(grid)
    assert [grid.index(p) for p in points] == [points.index(p) for p in points]


@SETTINGS
@given(spaces, st.data())
def test_iter_from_is_the_tail(space: Space, data: st.DataObject) -> None:
    grid = Grid(space)
    k = data.draw(st.integers(0, len(grid) + 1))
    assert list(grid.iter_from(k)) == list(grid)[k:]


def test_slices() -> None:
    grid = Grid(Space((SubSpace((Axis((IntRange("n_epochs", 1, 10),)),)),)))
    assert grid[2:5] == [{"n_epochs": 3}, {"n_epochs": 4}, {"n_epochs": 5}]
    assert grid[::-4] == [{"n_epochs": 10}, {"n_epochs": 6}, {"n_epochs": 2}]


def test_index_of_a_stranger() -> None:
    grid = Grid(Space((SubSpace((Axis((IntRange("n_epochs", 1, 3),)),)),)))
    for stranger in ({"n_epochs": 4}, {"batch_size": 1}, "n_epochs"):
        with pytest.raises(ValueError, match="is not a point of this grid"):
            grid.index(stranger)


def test_union_grid_is_the_subspaces_in_order() -> None:
    a = SubSpace(
        (Axis((Categorical("n_epochs", (1, 2)),)), Axis((Categorical("batch_size", (4, 8)),)))
    )
    b = SubSpace((Axis((Categorical("beta", (0.5,)),)),))
    grid = Grid(Space((a, b)))
    assert list(grid) == [
        {"n_epochs": 1, "batch_size": 4},
        {"n_epochs": 1, "batch_size": 8},
        {"n_epochs": 2, "batch_size": 4},
        {"n_epochs": 2, "batch_size": 8},
        {"beta": 0.5},
    ]


def test_grid_needs_a_finite_space() -> None:
    with pytest.raises(ValueError, match="a grid needs a finite space"):
        Grid(Space((SubSpace((Axis((FloatRange("beta", 0.1, 1),)),)),)))


HUGE = sweep_yaml(
    "reinforcement",
    """\
  n_epochs: {low: 1, high: 10}
  batch_size: {low: 1, high: 100}
  eval_interval: {low: 1, high: 100}
  eval_samples: {low: 1, high: 100}
  learning_rate_multiplier: {low: 0.01, high: 10, log: true, num: 1000}
  compute_multiplier: {low: 0.1, high: 10, num: 100}
""",
)


def test_a_trillion_point_grid_is_never_built() -> None:
    sweep = loads_sweep(HUGE)
    grid = Grid(sweep.space)
    assert len(grid) == 10**12 == sweep.space.size
    first = {
        "n_epochs": 1,
        "batch_size": 1,
        "eval_interval": 1,
        "eval_samples": 1,
        "learning_rate_multiplier": 0.01,
        "compute_multiplier": 0.1,
    }
    last = {
        "n_epochs": 10,
        "batch_size": 100,
        "eval_interval": 100,
        "eval_samples": 100,
        "learning_rate_multiplier": 10.0,
        "compute_multiplier": 10.0,
    }
    assert grid[0] == first and next(iter(grid)) == first
    assert grid[-1] == last == grid[10**12 - 1]
    assert next(grid.iter_from(10**12 - 1)) == last
    assert list(grid.iter_from(10**12)) == []
    assert grid.index(last) == 10**12 - 1
    middle = grid[5 * 10**11]
    assert grid.index(middle) == 5 * 10**11


def test_iter_from_a_far_start_decodes() -> None:
    grid = Grid(loads_sweep(HUGE).space)
    start = 123_456_789_012
    assert list(itertools.islice(grid.iter_from(start), 3)) == [grid[start + i] for i in range(3)]


# --- the permutation -------------------------------------------------------------------------

SMALL_NS = [*range(1, 260), *range(260, 2001, 37), 511, 512, 513, 1023, 1024, 1025, 2000]


@pytest.mark.parametrize("n", SMALL_NS)
def test_permutation_is_a_bijection(n: int) -> None:
    perm = Permutation(n, seed=n * 7 + 3)
    assert sorted(perm[i] for i in range(n)) == list(range(n))
    assert len(perm) == n


def test_permutation_of_a_medium_n_is_a_bijection() -> None:
    n = 70_001
    perm = Permutation(n, seed=11)
    assert sorted(perm[i] for i in range(n)) == list(range(n))


@pytest.mark.parametrize("n", [10**6 + 7, 2**40, 10**12, 10**12 + 39])
def test_permutation_of_large_n_by_sampling(n: int) -> None:
    perm = Permutation(n, seed=5)
    indices = random.Random(n).sample(range(n), 3000)
    images = [perm[i] for i in indices]
    assert all(0 <= x < n for x in images)
    assert len(set(images)) == len(images)
    assert [perm[i] for i in indices[:10]] == images[:10]  # stable


def test_permutation_seeds() -> None:
    n = 1000
    orders = {seed: [Permutation(n, seed)[i] for i in range(n)] for seed in range(5)}
    assert len({tuple(o) for o in orders.values()}) == 5
    assert orders[3] == [Permutation(n, 3)[i] for i in range(n)]
    assert orders[0] != list(range(n))
    big = Permutation(10**12, 1), Permutation(10**12, 2)
    assert [big[0][i] for i in range(20)] != [big[1][i] for i in range(20)]


def test_permutation_shuffles() -> None:
    perm = Permutation(10_000, seed=0)
    head = [perm[i] for i in range(100)]
    assert sum(a < b for a, b in itertools.pairwise(head)) not in (0, 99)
    assert max(head) > 5000 and min(head) < 5000


def test_permutation_bounds() -> None:
    with pytest.raises(ValueError, match="a permutation needs n >= 1"):
        Permutation(0, 1)
    perm = Permutation(10, 1)
    with pytest.raises(IndexError):
        perm[10]
    with pytest.raises(IndexError):
        perm[-1]
    assert Permutation(1, 99)[0] == 0
