"""Dimensions: exact grid values, auto as one more option, sampling from [0, 1), invariants."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ftsweep.sweep.dimensions import (
    MAX_GRID_POINTS_PER_RANGE,
    Categorical,
    Dimension,
    FloatRange,
    IntRange,
    RangeError,
    template_text,
)

SETTINGS = settings(max_examples=75, deadline=None)


def values(dim: Dimension) -> list[object]:
    assert dim.size is not None
    return [dim.value_at(i) for i in range(dim.size)]


# --- grid values -----------------------------------------------------------------------------


def test_log_num_is_exact() -> None:
    dim = FloatRange("learning_rate_multiplier", 0.1, 10, log=True, num=3)
    assert values(dim) == [0.1, 1.0, 10.0]
    assert all(isinstance(v, float) for v in values(dim))


def test_step_is_exact() -> None:
    dim = FloatRange("beta", 0.1, 0.5, step=0.1)
    assert values(dim) == [0.1, 0.2, 0.3, 0.4, 0.5]
    assert repr(dim.value_at(2)) == "0.3"


def test_step_stops_at_the_last_point_not_past_high() -> None:
    assert values(FloatRange("beta", 0.1, 0.75, step=0.2)) == [0.1, 0.3, 0.5, 0.7]
    assert values(FloatRange("beta", 1, 2, step=0.25)) == [1.0, 1.25, 1.5, 1.75, 2.0]


def test_linear_num_is_exact() -> None:
    assert values(FloatRange("beta", 0.1, 0.3, num=3)) == [0.1, 0.2, 0.3]
    assert values(FloatRange("lr", 0, 1, num=5)) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert values(FloatRange("lr", 0.1, 0.7, num=7)) == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]


def test_log_num_over_decades() -> None:
    dim = FloatRange("lr", 1e-5, 1e-1, log=True, num=5)
    assert values(dim) == [1e-05, 0.0001, 0.001, 0.01, 0.1]


def test_num_one_is_the_single_value() -> None:
    assert values(FloatRange("beta", 0.5, 0.5, num=1)) == [0.5]
    assert values(IntRange("n_epochs", 3, 3, num=1)) == [3]


def test_auto_is_one_more_option_first() -> None:
    dim = FloatRange("beta", 0.1, 0.5, step=0.1, auto=True)
    assert dim.size == 6
    assert values(dim) == ["auto", 0.1, 0.2, 0.3, 0.4, 0.5]
    assert values(IntRange("n_epochs", 1, 3, auto=True)) == ["auto", 1, 2, 3]


def test_continuous_range_has_no_size_and_no_grid_points() -> None:
    dim = FloatRange("beta", 0.1, 2.0, auto=True)
    assert dim.size is None and not dim.fixed
    assert dim.value_at(0) == "auto"
    with pytest.raises(TypeError, match="beta is a continuous range: it has no grid points"):
        dim.value_at(1)


def test_int_range_every_integer() -> None:
    dim = IntRange("n_epochs", 1, 5)
    assert dim.size == 5
    assert values(dim) == [1, 2, 3, 4, 5]
    assert all(type(v) is int for v in values(dim))


def test_int_range_step() -> None:
    assert values(IntRange("n_epochs", 1, 10, step=3)) == [1, 4, 7, 10]
    assert values(IntRange("n_epochs", 1, 9, step=3)) == [1, 4, 7]


def test_int_range_num_linear_and_log() -> None:
    assert values(IntRange("n_epochs", 1, 5, num=3)) == [1, 3, 5]
    log = IntRange("batch_size", 1, 256, log=True, num=9)
    assert values(log) == [1, 2, 4, 8, 16, 32, 64, 128, 256]
    assert all(type(v) is int for v in values(log))


def test_int_range_num_drops_repeated_integers() -> None:
    dim = IntRange("n_epochs", 1, 3, num=10)
    assert values(dim) == [1, 2, 3]
    assert values(IntRange("batch_size", 1, 8, log=True, num=6)) == [1, 2, 3, 5, 8]


def test_int_range_past_the_end() -> None:
    with pytest.raises(IndexError):
        IntRange("n_epochs", 1, 3).value_at(3)


def test_fixed() -> None:
    assert Categorical("batch_size", ("auto",)).fixed
    assert IntRange("n_epochs", 2, 2).fixed
    assert not IntRange("n_epochs", 2, 2, auto=True).fixed
    assert not Categorical("batch_size", ("auto", 8)).fixed


# --- invariants ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "field", "message"),
    [
        (
            lambda: FloatRange("beta", 2.0, 0.5),
            "low",
            r"low <= high must hold, but got \(low=2.0, high=0.5\)",
        ),
        (
            lambda: IntRange("n_epochs", 5, 1),
            "low",
            r"low <= high must hold, but got \(low=5, high=1\)",
        ),
        (lambda: FloatRange("lr", 0.0, 1.0, log=True), "low", "log needs low > 0, but got low=0.0"),
        (
            lambda: IntRange("eval_samples", -1, 4, log=True),
            "low",
            "log needs low > 0, but got low=-1",
        ),
        (lambda: FloatRange("beta", 0.1, 1, step=0.1, num=3), "step", "give step or num, not both"),
        (
            lambda: FloatRange("lr", 0.1, 1, log=True, step=0.1),
            "step",
            r"step cannot be combined with log \(use num for log-spaced points\)",
        ),
        (lambda: FloatRange("beta", 0.1, 1, step=0), "step", "step must be > 0, but got step=0"),
        (lambda: IntRange("n_epochs", 1, 5, step=-1), "step", "step must be > 0, but got step=-1"),
        (lambda: FloatRange("beta", 0.1, 1, num=0), "num", "num must be from 1 to 100000"),
        (
            lambda: IntRange("n_epochs", 1, 5, num=MAX_GRID_POINTS_PER_RANGE + 1),
            "num",
            "num must be from 1 to 100000",
        ),
        (
            lambda: FloatRange("beta", 0.1, 1, num=1),
            "num",
            r"num: 1 needs low == high \(use a fixed value instead\)",
        ),
        (
            lambda: FloatRange("lr", 0.1, 100, step=0.0001),
            "step",
            "step gives more than 100000 points",
        ),
    ],
)
def test_range_invariants(make: object, field: str, message: str) -> None:
    with pytest.raises(RangeError, match=f"^{message}$") as exc:
        make()  # type: ignore[operator]
    assert exc.value.field == field


def test_categorical_invariants() -> None:
    with pytest.raises(ValueError, match="^a list of choices must not be empty$"):
        Categorical("batch_size", ())
    with pytest.raises(ValueError, match="^choices must be distinct$"):
        Categorical("batch_size", (8, "auto", 8))
    with pytest.raises(ValueError, match="^choices must be distinct$"):
        Categorical("learning_rate_multiplier", (1, 1.0))


# --- contains --------------------------------------------------------------------------------


def test_categorical_contains() -> None:
    dim = Categorical("batch_size", ("auto", 4, 8))
    assert dim.contains("auto") and dim.contains(8) and dim.contains(8.0)
    assert not dim.contains(16) and not dim.contains("8")


def test_int_range_contains() -> None:
    dim = IntRange("n_epochs", 1, 10, step=3)
    assert [v for v in range(0, 12) if dim.contains(v)] == [1, 4, 7, 10]
    assert dim.contains(4.0) and not dim.contains(4.5)
    assert not dim.contains("auto")
    assert IntRange("n_epochs", 1, 10, step=3, auto=True).contains("auto")
    num = IntRange("batch_size", 1, 256, log=True, num=9)
    assert num.contains(64) and not num.contains(63)


def test_float_range_contains() -> None:
    continuous = FloatRange("beta", 0.1, 2.0)
    assert continuous.contains(0.1) and continuous.contains(2.0) and continuous.contains(1.234)
    assert not continuous.contains(2.0001) and not continuous.contains(0.05)
    assert not continuous.contains("auto")
    grid = FloatRange("beta", 0.1, 0.5, step=0.1, auto=True)
    assert grid.contains(0.1 + 0.2) and grid.contains("auto")
    assert not grid.contains(0.25)


# --- sampling from [0, 1) ---------------------------------------------------------------------

units = st.floats(0.0, 1.0, exclude_max=True)


@st.composite
def ranges(draw: st.DrawFn) -> Dimension:
    auto = draw(st.booleans())
    if draw(st.booleans()):
        low = draw(st.integers(1, 300))
        high = low + draw(st.integers(0, 300))
        shape = draw(st.sampled_from(["all", "step", "num", "log", "lognum"]))
        if shape == "step":
            return IntRange("batch_size", low, high, step=draw(st.integers(1, 40)), auto=auto)
        if shape in ("num", "lognum") and low != high:
            return IntRange(
                "batch_size",
                low,
                high,
                log=shape == "lognum",
                num=draw(st.integers(2, 12)),
                auto=auto,
            )
        return IntRange("batch_size", low, high, log=shape == "log", auto=auto)
    lo = draw(st.floats(1e-4, 100, allow_nan=False))
    hi = draw(st.floats(lo, 1000, allow_nan=False))
    log = draw(st.booleans())
    num = draw(st.none() | st.integers(2, 8)) if lo != hi else None
    return FloatRange("learning_rate_multiplier", lo, hi, log=log, num=num, auto=auto)


@SETTINGS
@given(ranges(), units)
def test_from_unit_stays_inside(dim: Dimension, u: float) -> None:
    value = dim.from_unit(u)
    assert dim.contains(value)
    if value != "auto":
        assert isinstance(value, int | float) and dim.low <= value <= dim.high  # type: ignore[union-attr]
        assert type(value) is (int if isinstance(dim, IntRange) else float)


@SETTINGS
@given(ranges())
def test_from_unit_hits_every_option(dim: Dimension) -> None:
    if dim.size is None:
        assert isinstance(dim, FloatRange)
        dim = FloatRange(dim.name, dim.low, dim.high, log=dim.log, num=5, auto=dim.auto)
    size = dim.size
    assert size is not None
    fine = 20_000
    seen = {dim.from_unit(i / fine) for i in range(fine)}
    assert seen == set(values(dim))


def test_from_unit_picks_options_evenly() -> None:
    dim = Categorical("batch_size", ("auto", 4, 8, 16))
    assert [dim.from_unit(u) for u in (0.0, 0.24, 0.25, 0.5, 0.99999)] == ["auto", "auto", 4, 8, 16]
    grid = FloatRange("beta", 0.1, 0.5, step=0.1)
    assert [grid.from_unit((i + 0.5) / 5) for i in range(5)] == values(grid)


def test_continuous_from_unit() -> None:
    linear = FloatRange("beta", 0.5, 1.5)
    assert linear.from_unit(0.0) == 0.5 and linear.from_unit(0.5) == 1.0
    log = FloatRange("learning_rate_multiplier", 0.01, 100, log=True)
    assert log.from_unit(0.5) == 1.0 and log.from_unit(0.25) == 0.1
    auto = FloatRange("beta", 0.5, 1.5, auto=True)
    assert auto.from_unit(0.25) == "auto" and auto.from_unit(0.75) == 1.0


def test_sampled_values_are_rounded_to_six_digits() -> None:
    value = FloatRange("beta", 0.1, 2.0).from_unit(0.123456789)
    assert value == float(f"{value:.6g}")


def test_log_int_range_samples_log_spaced() -> None:
    """`log: true` on an int range without num: sampling favours small values, as Optuna's does."""
    dim = IntRange("batch_size", 1, 256, log=True)
    assert dim.from_unit(0.5) == 16  # sqrt(257) ~ 16, not the linear midpoint 128
    assert dim.from_unit(0.0) == 1 and dim.from_unit(0.999999) == 256
    small = sum(dim.from_unit(i / 1000) in range(1, 17) for i in range(1000))
    assert 450 <= small <= 550


@SETTINGS
@given(st.floats(1, 5e6), st.floats(0, 5e6), st.booleans(), units)
def test_float_range_samples_are_floats_even_with_int_bounds(
    low: float, span: float, log: bool, u: float
) -> None:
    dim = FloatRange("learning_rate_multiplier", round(low), round(low + span), log=log)
    value = dim.from_unit(u)
    assert type(value) is float


# --- template text ---------------------------------------------------------------------------


def test_template_text() -> None:
    assert template_text(0.1) == "0.1"
    assert template_text(1.0) == "1"
    assert template_text(1.234567891) == "1.23457"
    assert template_text(3) == "3"
    assert template_text("auto") == "auto"


@SETTINGS
@given(ranges())
def test_text_width_bounds_every_value(dim: Dimension) -> None:
    if dim.size is not None:
        sample = values(dim)
    else:
        sample = [dim.from_unit(i / 97) for i in range(97)]
    assert all(len(template_text(v)) <= dim.text_width() for v in sample)  # type: ignore[arg-type]


def test_float_text_width_of_continuous_range() -> None:
    dim = FloatRange("compute_multiplier", 0.00002, 10)
    assert dim.text_width() == 12
    assert len(template_text(-1.23456e-05)) == 12
    assert dim.from_unit(0.0) == 0.00002


def test_a_float_is_rounded_to_significant_digits_within_its_range() -> None:
    lr = FloatRange("learning_rate_multiplier", low=0.1234, high=4.0)
    assert lr.rounded(1.4422303034972062, 3) == 1.44
    assert lr.rounded(0.12341, 3) == 0.1234  # 0.123 would leave the range: one more digit
    assert lr.rounded(3.99996, 3) == 4.0
