"""Spaces: axes (zip groups advance together), sub-spaces (products), spaces (unions)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ftsweep.sweep import loads_sweep
from ftsweep.sweep.dimensions import Categorical, FloatRange, IntRange
from ftsweep.sweep.grid import Grid
from ftsweep.sweep.space import UNDECIDED, Axis, Space, SubSpace, shared_point

from .conftest import sweep_yaml

N_EPOCHS = Categorical("n_epochs", (1, 2, 3))
LR = Categorical("learning_rate_multiplier", (0.5, 1.0, 2.0))
BATCH = Categorical("batch_size", ("auto", 8))
BETA = FloatRange("beta", 0.1, 2.0)


def test_sizes_multiply_across_axes() -> None:
    sub = SubSpace((Axis((N_EPOCHS,)), Axis((LR,)), Axis((BATCH,))))
    assert sub.size == 18
    assert sub.radices == (3, 3, 2)
    assert sub.names == ("n_epochs", "learning_rate_multiplier", "batch_size")


def test_zipped_dimensions_advance_together() -> None:
    sub = SubSpace((Axis((N_EPOCHS, LR)), Axis((BATCH,))))
    assert sub.size == 6  # 3 pairs x 2 batch sizes, not 3 x 3 x 2
    points = [sub.params_at(i) for i in range(6)]
    assert [(p["n_epochs"], p["learning_rate_multiplier"]) for p in points] == [
        (1, 0.5),
        (1, 0.5),
        (2, 1.0),
        (2, 1.0),
        (3, 2.0),
        (3, 2.0),
    ]
    assert [p["batch_size"] for p in points] == ["auto", 8] * 3


def test_zips_of_unequal_length_are_refused() -> None:
    with pytest.raises(
        ValueError,
        match=r"^zipped dimensions must be finite and equally long \(n_epochs: 3, batch_size: 2\)$",
    ):
        Axis((N_EPOCHS, BATCH))
    with pytest.raises(ValueError, match=r"\(n_epochs: 3, beta: infinite\)"):
        Axis((N_EPOCHS, BETA))


def test_union_sizes_add() -> None:
    a = SubSpace((Axis((N_EPOCHS,)), Axis((LR,))))
    b = SubSpace((Axis((BATCH,)),))
    space = Space((a, b))
    assert space.size == 9 + 2
    assert space.finite
    assert space.names == ("n_epochs", "learning_rate_multiplier", "batch_size")
    assert space.width == 2


def test_an_infinite_subspace_makes_the_union_infinite() -> None:
    space = Space((SubSpace((Axis((N_EPOCHS,)),)), SubSpace((Axis((BETA,)),))))
    assert space.size is None and not space.finite
    assert space.subspaces[0].size == 3 and space.subspaces[1].size is None


def test_params_at_is_mixed_radix_with_the_last_axis_fastest() -> None:
    sub = SubSpace((Axis((N_EPOCHS,)), Axis((BATCH,))))
    assert [sub.params_at(i) for i in range(6)] == [
        {"n_epochs": n, "batch_size": b} for n in (1, 2, 3) for b in ("auto", 8)
    ]


def test_index_of_inverts_params_at() -> None:
    sub = SubSpace((Axis((N_EPOCHS, LR)), Axis((IntRange("batch_size", 1, 4, auto=True),))))
    for i in range(sub.size or 0):
        assert sub.index_of(sub.params_at(i)) == i
    assert sub.index_of({"n_epochs": 1, "learning_rate_multiplier": 1.0, "batch_size": 1}) is None
    assert sub.index_of({"n_epochs": 1, "learning_rate_multiplier": 0.5}) is None


def test_params_from_units() -> None:
    sub = SubSpace((Axis((N_EPOCHS, LR)), Axis((BETA,))))
    assert sub.params_from_units([0.99, 0.0, 0.5]) == {
        "n_epochs": 3,
        "learning_rate_multiplier": 2.0,
        "beta": 0.1,
    }


def test_contains() -> None:
    sub = SubSpace((Axis((N_EPOCHS, LR)), Axis((BETA,))))
    space = Space((sub, SubSpace((Axis((BATCH,)),))))
    assert space.contains({"n_epochs": 2, "learning_rate_multiplier": 1.0, "beta": 1.5})
    assert space.contains({"batch_size": "auto"})
    # a zip pairs values: n_epochs 2 goes with 1.0 only
    assert not space.contains({"n_epochs": 2, "learning_rate_multiplier": 0.5, "beta": 1.5})
    assert not space.contains({"n_epochs": 2, "learning_rate_multiplier": 1.0, "beta": 2.5})
    assert not space.contains({"n_epochs": 2, "learning_rate_multiplier": 1.0})
    assert not space.contains({"batch_size": 16})
    assert not space.contains({"batch_size": "auto", "n_epochs": 1})


def test_sizes_from_a_sweep_file() -> None:
    text = sweep_yaml(
        "dpo",
        """\
  - model: [gpt-a, gpt-b]
    n_epochs: [1, 2, 3]
    learning_rate_multiplier: [0.5, 1.0, 2.0]
    batch_size: [auto, 8]
    zip: [[n_epochs, learning_rate_multiplier]]
  - beta: {low: 0.1, high: 0.5, step: 0.1, auto: true}
    batch_size: {low: 1, high: 64, log: true, num: 7}
""",
    )
    space = loads_sweep(text).space
    first, second = space.subspaces
    assert first.size == 2 * 3 * 2  # model x (n_epochs, lr) pairs x batch_size
    assert second.size == 6 * 7
    assert space.size == 12 + 42
    assert "model" in first.names and "model" not in second.names


# --- overlapping sub-spaces ------------------------------------------------------------------


def product(*dims: Categorical | IntRange | FloatRange) -> SubSpace:
    return SubSpace(tuple(Axis((d,)) for d in dims))


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (Categorical("n_epochs", (1, 2)), Categorical("n_epochs", (2, 3)), 2),
        (Categorical("n_epochs", (1, 2)), Categorical("n_epochs", (3, 4)), None),
        (Categorical("n_epochs", (1, 2)), IntRange("n_epochs", 2, 9), 2),
        (Categorical("n_epochs", ("auto", 1)), IntRange("n_epochs", 2, 9, auto=True), "auto"),
        (IntRange("n_epochs", 1, 9, step=2), IntRange("n_epochs", 2, 9, step=2), None),
        (
            IntRange("eval_samples", 1, 10**12, step=6),
            IntRange("eval_samples", 4, 10**12, step=9),
            13,
        ),
        (
            IntRange("eval_samples", 1, 10**12, step=6),
            IntRange("eval_samples", 2, 10**12, step=6),
            None,
        ),
        (FloatRange("beta", 0.1, 1.0), FloatRange("beta", 0.5, 2.0), 0.5),
        (FloatRange("beta", 0.1, 1.0), FloatRange("beta", 1.5, 2.0), None),
        (FloatRange("beta", 0.1, 1.0, num=4), FloatRange("beta", 0.5, 2.0), 0.7),
        (FloatRange("beta", 0.1, 1.0, step=0.2), FloatRange("beta", 0.2, 1.0, step=0.2), None),
        (Categorical("model", ("a", "b")), Categorical("model", ("b",)), "b"),
    ],
)
def test_shared_point_of_single_dimensions(
    a: Categorical | IntRange | FloatRange, b: Categorical | IntRange | FloatRange, expected: object
) -> None:
    for first, second in ((a, b), (b, a)):
        point = shared_point(product(first), product(second))
        assert point == (None if expected is None else {a.name: expected})


def test_sub_spaces_of_different_dimensions_share_nothing() -> None:
    assert shared_point(product(N_EPOCHS), product(N_EPOCHS, BATCH)) is None


def test_one_disjoint_dimension_makes_sub_spaces_disjoint() -> None:
    small = product(N_EPOCHS, Categorical("batch_size", (2, 4)))
    large = product(N_EPOCHS, Categorical("batch_size", (32,)))
    assert shared_point(small, large) is None
    assert shared_point(small, product(N_EPOCHS, BATCH)) is None
    assert shared_point(small, product(N_EPOCHS, IntRange("batch_size", 4, 8))) == {
        "n_epochs": 1,
        "batch_size": 4,
    }


def test_zipped_dimensions_overlap_only_in_their_pairs() -> None:
    zipped = SubSpace((Axis((N_EPOCHS, LR)),))  # (1, 0.5), (2, 1.0), (3, 2.0)
    crossed = product(
        Categorical("n_epochs", (1, 2)), Categorical("learning_rate_multiplier", (1.0,))
    )
    assert shared_point(zipped, crossed) == {"n_epochs": 2, "learning_rate_multiplier": 1.0}
    apart = product(Categorical("n_epochs", (1,)), Categorical("learning_rate_multiplier", (1.0,)))
    assert shared_point(zipped, apart) is None
    assert shared_point(apart, zipped) is None


def test_crossing_zips_over_continuous_ranges_are_undecided() -> None:
    x, y = IntRange("n_epochs", 1, 3), Categorical("batch_size", (1, 2, 3))
    z = Categorical("learning_rate_multiplier", (0.5, 1.0, 2.0))
    a = SubSpace((Axis((x, y)), Axis((FloatRange("learning_rate_multiplier", 0.1, 4.0),))))
    b = SubSpace((Axis((FloatRange("n_epochs", 1, 3),)), Axis((y, z))))
    assert shared_point(a, b) is UNDECIDED
    assert shared_point(a, SubSpace((Axis((x,)), Axis((y, z))))) == {
        "n_epochs": 1,
        "batch_size": 1,
        "learning_rate_multiplier": 0.5,
    }


small_choices = st.lists(st.integers(1, 6), min_size=1, max_size=4, unique=True)


@given(
    st.lists(small_choices, min_size=2, max_size=2),
    st.lists(small_choices, min_size=2, max_size=2),
    st.booleans(),
)
def test_shared_point_agrees_with_listing_both_grids(
    first: list[list[int]], second: list[list[int]], zip_first: bool
) -> None:
    names = ("n_epochs", "batch_size")
    dims = [Categorical(n, tuple(v)) for n, v in zip(names, first, strict=True)]
    if zip_first and len(first[0]) == len(first[1]):
        a = SubSpace((Axis(tuple(dims)),))
    else:
        a = product(*dims)
    b = product(*(Categorical(n, tuple(v)) for n, v in zip(names, second, strict=True)))
    common = [p for p in Grid(Space((a,))) if b.contains(p)]
    point = shared_point(a, b)
    assert (point is None) == (not common)
    if point is not None:
        assert a.contains(point) and b.contains(point)
