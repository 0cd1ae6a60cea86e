"""The dimensions of a search space: a closed set of three types, each checking its invariants.

- `Categorical`: a fixed value or a list of choices (which may mix "auto" with numbers).
- `IntRange`: integers from `low` to `high`, every `step`-th or `num` of them, log or linear.
- `FloatRange`: numbers from `low` to `high`; finite (a grid axis) only with `num` or `step`.

Every dimension maps an index (`value_at`, for grids) and a point of [0, 1) (`from_unit`, for
random and Sobol sampling) to a value, so strategies never look inside a dimension. Grid values
are exact as written: a computed 0.1 + 0.2 is 0.3, never 0.30000000000000004.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import TypeAlias

from ftsweep.api.hyperparameters import AUTO

__all__ = [
    "MAX_GRID_POINTS_PER_RANGE",
    "Categorical",
    "Dimension",
    "identity",
    "FloatRange",
    "IntRange",
    "RangeError",
    "Value",
    "shared_value",
    "template_text",
]

Value: TypeAlias = str | int | float
MAX_GRID_POINTS_PER_RANGE = 100_000
_SIGNIFICANT = 12  # digits kept of a computed grid value: exact as a person would write it
_SAMPLE_SIGNIFICANT = 6  # digits kept of a sampled continuous value
_FLOAT_TEXT_WIDTH = 12  # len(format(x, ".6g")) is at most this for the values we allow


def template_text(value: Value) -> str:
    """How a value reads inside a suffix or metadata template."""
    if isinstance(value, float):
        return format(value, ".6g")
    return str(value)


def _clean(x: float, digits: int = _SIGNIFICANT) -> float:
    return float(f"{x:.{digits}g}")


def _exact(x: float) -> Decimal:
    return Decimal(repr(float(x)))


class RangeError(ValueError):
    """A range's invariant broken; `field` names the key to blame."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Categorical:
    """A fixed value (one choice) or a set of choices, in the order written."""

    name: str
    values: tuple[Value, ...]

    def __post_init__(self) -> None:
        if not self.values:
            raise ValueError("a list of choices must not be empty")
        if len(set(map(identity, self.values))) != len(self.values):
            raise ValueError("choices must be distinct")

    @property
    def size(self) -> int:
        return len(self.values)

    @property
    def fixed(self) -> bool:
        return len(self.values) == 1

    def value_at(self, index: int) -> Value:
        return self.values[index]

    def from_unit(self, u: float) -> Value:
        return self.values[min(int(u * len(self.values)), len(self.values) - 1)]

    def contains(self, value: Value) -> bool:
        return identity(value) in {identity(v) for v in self.values}

    def text_width(self) -> int:
        return max(len(template_text(v)) for v in self.values)


def identity(value: Value) -> tuple[str, Value]:
    """Distinguish "auto" from numbers and treat 1 and 1.0 as the same choice."""
    return ("s", value) if isinstance(value, str) else ("n", value)


@dataclass(frozen=True)
class _Range:
    name: str
    low: float
    high: float
    log: bool = False
    step: float | None = None
    num: int | None = None
    auto: bool = False

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise RangeError(
                "low", f"low <= high must hold, but got (low={self.low}, high={self.high})"
            )
        if self.log and self.low <= 0:
            raise RangeError("low", f"log needs low > 0, but got low={self.low}")
        if self.step is not None and self.num is not None:
            raise RangeError("step", "give step or num, not both")
        if self.step is not None and self.log:
            raise RangeError(
                "step", "step cannot be combined with log (use num for log-spaced points)"
            )
        if self.step is not None and self.step <= 0:
            raise RangeError("step", f"step must be > 0, but got step={self.step}")
        if self.num is not None and not 1 <= self.num <= MAX_GRID_POINTS_PER_RANGE:
            raise RangeError("num", f"num must be from 1 to {MAX_GRID_POINTS_PER_RANGE}")
        if self.num == 1 and self.low != self.high:
            raise RangeError("num", "num: 1 needs low == high (use a fixed value instead)")

    @property
    def points(self) -> tuple[int | float, ...] | None:
        """The range's numbers when they are an explicit point set (`num`, or float `step`)."""
        return self._points

    @cached_property
    def _points(self) -> tuple[int | float, ...] | None:
        return None

    @property
    def _offset(self) -> int:
        return 1 if self.auto else 0

    def _number_count(self) -> int | None:
        raise NotImplementedError

    def _number_at(self, index: int) -> int | float:
        raise NotImplementedError

    def _number_from_unit(self, u: float) -> int | float:
        raise NotImplementedError

    def _sampled_count(self) -> int | None:
        """How many numbers `from_unit` picks evenly among; None when it maps u onto the range."""
        return self._number_count()

    @property
    def size(self) -> int | None:
        count = self._number_count()
        return None if count is None else count + self._offset

    @property
    def fixed(self) -> bool:
        return self.size == 1

    def value_at(self, index: int) -> Value:
        if self.auto and index == 0:
            return AUTO
        return self._number_at(index - self._offset)

    def from_unit(self, u: float) -> Value:
        count = self._sampled_count()
        if count is not None:
            return self.value_at(min(int(u * (count + self._offset)), count + self._offset - 1))
        if self.auto:
            if u < 0.5:
                return AUTO
            u = (u - 0.5) * 2
        return self._number_from_unit(u)

    def contains(self, value: Value) -> bool:
        if isinstance(value, str):
            return self.auto and value == AUTO
        return self.low <= value <= self.high


@dataclass(frozen=True)
class IntRange(_Range):
    """Integers from low to high (both included); always finite."""

    low: int
    high: int
    step: int | None = None

    @cached_property
    def _points(self) -> tuple[int, ...] | None:
        """The distinct integers `num` asks for; None when every step-th integer is a point."""
        if self.num is None:
            return None
        if self.num == 1:
            return (self.low,)
        if self.log:
            lo, hi = math.log(self.low), math.log(self.high)
            raw = (math.exp(lo + (hi - lo) * i / (self.num - 1)) for i in range(self.num))
        else:
            raw = (self.low + (self.high - self.low) * i / (self.num - 1) for i in range(self.num))
        return tuple(sorted({min(max(round(x), self.low), self.high) for x in raw}))

    def _number_count(self) -> int:
        if self._points is not None:
            return len(self._points)
        return (self.high - self.low) // (self.step or 1) + 1

    def _number_at(self, index: int) -> int:
        if not 0 <= index < self._number_count():
            raise IndexError(index)
        if self._points is not None:
            return self._points[index]
        return self.low + index * (self.step or 1)

    def _sampled_count(self) -> int | None:
        return None if self.log and self._points is None else self._number_count()

    def _number_from_unit(self, u: float) -> int:
        if self.log and self._points is None and self.step is None:
            lo, hi = math.log(self.low), math.log(self.high + 1)
            return max(min(int(math.exp(lo + u * (hi - lo))), self.high), self.low)
        return self._number_at(min(int(u * self._number_count()), self._number_count() - 1))

    def contains(self, value: Value) -> bool:
        if isinstance(value, str) or isinstance(value, bool):
            return super().contains(value)
        if not isinstance(value, int) and not float(value).is_integer():
            return False
        if self._points is not None:
            return int(value) in self._points
        return self.low <= value <= self.high and (value - self.low) % (self.step or 1) == 0

    def text_width(self) -> int:
        width = max(len(str(self.low)), len(str(self.high)))
        return max(width, len(AUTO)) if self.auto else width


@dataclass(frozen=True)
class FloatRange(_Range):
    """Numbers from low to high; a grid axis only with `num` points or a `step`."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.step is not None:
            count = (_exact(self.high) - _exact(self.low)) / _exact(self.step)
            if count >= MAX_GRID_POINTS_PER_RANGE:
                raise RangeError("step", f"step gives more than {MAX_GRID_POINTS_PER_RANGE} points")

    @cached_property
    def _points(self) -> tuple[float, ...] | None:
        if self.num is not None:  # distinct, as IntRange's: rounding may merge close points
            return tuple(dict.fromkeys(self._spaced(i) for i in range(self.num)))
        if self.step is not None:
            low, step = _exact(self.low), _exact(self.step)
            count = int((_exact(self.high) - low) / step) + 1
            return tuple(float(low + i * step) for i in range(count))
        return None

    def _spaced(self, i: int) -> float:
        assert self.num is not None
        if i == 0 or i == self.num - 1:  # the ends are exactly as written
            return float(self.low if i == 0 else self.high)
        if self.log:
            lo, hi = math.log(self.low), math.log(self.high)
            return _clean(math.exp(lo + (hi - lo) * i / (self.num - 1)))
        low, high = _exact(self.low), _exact(self.high)
        return _clean(float(low + (high - low) * i / (self.num - 1)))

    def _number_count(self) -> int | None:
        return None if self._points is None else len(self._points)

    def _number_at(self, index: int) -> float:
        if self._points is None:
            raise TypeError(f"{self.name} is a continuous range: it has no grid points")
        return self._points[index]

    def _number_from_unit(self, u: float) -> float:
        if self.log:
            lo, hi = math.log(self.low), math.log(self.high)
            x = math.exp(lo + u * (hi - lo))
        else:
            x = self.low + u * (self.high - self.low)
        return float(min(max(_clean(x, _SAMPLE_SIGNIFICANT), self.low), self.high))

    def rounded(self, x: float, digits: int) -> float:
        """`x` to `digits` significant digits (a few more where that would leave the range), so
        that a chosen value reads `1.44` in a job body, not `1.4422303034972062`."""
        for more in range(digits, 18):
            value = _clean(x, more)
            if self.low <= value <= self.high:
                return value
        return float(x)

    def contains(self, value: Value) -> bool:
        if isinstance(value, str) or self._points is None:
            return super().contains(value)
        at = bisect.bisect_left(self._points, value)  # the points ascend
        near = self._points[max(at - 1, 0) : at + 1]
        return any(math.isclose(value, p, rel_tol=1e-9) for p in near)

    def text_width(self) -> int:
        if self._points is not None:
            width = max(len(template_text(p)) for p in self._points)
        else:
            width = _FLOAT_TEXT_WIDTH
        return max(width, len(AUTO)) if self.auto else width


Dimension: TypeAlias = Categorical | IntRange | FloatRange


_ENUMERABLE = MAX_GRID_POINTS_PER_RANGE  # values listed to find one two dimensions share


def _listed(dim: Dimension) -> list[Value] | None:
    """The dimension's values when they are few enough to list; None for a continuous range."""
    if dim.size is None or dim.size > _ENUMERABLE:
        return None
    return [dim.value_at(i) for i in range(dim.size)]


def shared_value(a: Dimension, b: Dimension) -> Value | None:
    """A value both dimensions (of the same hyperparameter) allow, or None when they share none.

    Exact for every pair: a listed side is checked value by value against the other; what is
    left is two continuous float ranges (intervals) or two long integer progressions.
    """
    if a.contains(AUTO) and b.contains(AUTO):
        return AUTO
    listed = sorted(
        ((v, d) for v, d in ((_listed(a), b), (_listed(b), a)) if v is not None),
        key=lambda pair: len(pair[0]),
    )
    if listed:
        values, other = listed[0]
        return next((v for v in values if other.contains(v)), None)
    if isinstance(a, IntRange) and isinstance(b, IntRange):
        return _shared_integer(a, b)
    assert isinstance(a, _Range) and isinstance(b, _Range)
    low, high = max(a.low, b.low), min(a.high, b.high)
    return low if low <= high and a.contains(low) and b.contains(low) else None


def _shared_integer(a: IntRange, b: IntRange) -> int | None:
    """The least integer in both arithmetic progressions (low + k * step), by the CRT."""
    step_a, step_b = a.step or 1, b.step or 1
    gcd = math.gcd(step_a, step_b)
    if (b.low - a.low) % gcd:
        return None
    lcm = step_a // gcd * step_b
    # x = a.low + step_a * k with step_a * k = b.low - a.low (mod step_b)
    k = (b.low - a.low) // gcd * pow(step_a // gcd, -1, step_b // gcd) % (step_b // gcd)
    first = a.low + step_a * k
    start = max(a.low, b.low)
    x = first + -(-(start - first) // lcm) * lcm  # the first solution at or above start
    return x if x <= min(a.high, b.high) else None
