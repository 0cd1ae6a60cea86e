"""Search spaces: axes (a dimension, or a zip group that advances together), sub-spaces (the
product of their axes) and the space itself (the union of its sub-spaces).
"""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

from ftsweep.sweep.dimensions import (
    MAX_GRID_POINTS_PER_RANGE,
    Dimension,
    Value,
    identity,
    shared_value,
)

__all__ = [
    "MAX_SPACE_SIZE",
    "UNDECIDED",
    "Axis",
    "ConfigKey",
    "Params",
    "Space",
    "SubSpace",
    "configuration_key",
    "shared_point",
]

Params = dict[str, Value]
#: The most configurations a space may have: a grid's length and a plan's count are Python
#: sizes (`len`, `islice`), which stop at sys.maxsize.
MAX_SPACE_SIZE = sys.maxsize


@dataclass(frozen=True)
class Axis:
    """One radix of a grid: a single dimension, or zipped dimensions of equal length."""

    dimensions: tuple[Dimension, ...]

    def __post_init__(self) -> None:
        sizes = {d.size for d in self.dimensions}
        if len(self.dimensions) > 1 and (None in sizes or len(sizes) > 1):
            described = ", ".join(f"{d.name}: {d.size or 'infinite'}" for d in self.dimensions)
            raise ValueError(f"zipped dimensions must be finite and equally long ({described})")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.dimensions)

    @property
    def size(self) -> int | None:
        return self.dimensions[0].size

    def values_at(self, index: int) -> tuple[Value, ...]:
        return tuple(d.value_at(index) for d in self.dimensions)

    def from_unit(self, u: float) -> tuple[Value, ...]:
        if len(self.dimensions) == 1:
            return (self.dimensions[0].from_unit(u),)
        size = self.size
        assert size is not None
        return self.values_at(min(int(u * size), size - 1))

    def index_of(self, values: Mapping[str, Value]) -> int | None:
        """The grid index whose values are `values`, if there is one."""
        size = self.size
        if size is None:
            return None
        for index in range(size):
            if all(
                _same(values.get(n), v)
                for n, v in zip(self.names, self.values_at(index), strict=False)
            ):
                return index
        return None


ConfigKey = frozenset[tuple[str, tuple[str, Value]]]


def configuration_key(params: Mapping[str, Value]) -> ConfigKey:
    """The one test of "the same configuration": equal for configurations that set the same
    dimensions to the same values, where a number equals the same number as int or float
    (1 and 1.0) and "auto" equals only "auto"."""
    return frozenset((name, identity(value)) for name, value in params.items())


def _same(a: object, b: Value) -> bool:
    if isinstance(a, str) or isinstance(b, str) or isinstance(a, bool) or a is None:
        return a == b
    assert isinstance(a, int | float)
    return math.isclose(a, b, rel_tol=1e-9)


@dataclass(frozen=True)
class SubSpace:
    """The product of its axes; the last axis varies fastest, as in itertools.product."""

    axes: tuple[Axis, ...]

    @cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(name for axis in self.axes for name in axis.names)

    @cached_property
    def dimensions(self) -> dict[str, Dimension]:
        return {d.name: d for axis in self.axes for d in axis.dimensions}

    @cached_property
    def size(self) -> int | None:
        sizes = [axis.size for axis in self.axes]
        return None if None in sizes else math.prod(s for s in sizes if s is not None)

    @cached_property
    def radices(self) -> tuple[int, ...]:
        return tuple(axis.size or 0 for axis in self.axes)

    def params_at(self, index: int) -> Params:
        """Mixed-radix decoding of a grid index into the values of every dimension."""
        chosen: list[tuple[Value, ...]] = []
        for axis, radix in zip(reversed(self.axes), reversed(self.radices), strict=False):
            index, digit = divmod(index, radix)
            chosen.append(axis.values_at(digit))
        return _params(self.axes, reversed(chosen))

    def params_from_units(self, units: Sequence[float]) -> Params:
        """One point of [0, 1) per axis (extra coordinates are ignored) to a configuration."""
        return _params(
            self.axes, (axis.from_unit(u) for axis, u in zip(self.axes, units, strict=False))
        )

    def index_of(self, params: Mapping[str, Value]) -> int | None:
        """The grid index of `params` in this sub-space, or None when it is not a grid point."""
        if self.size is None or set(params) != set(self.names):
            return None
        index = 0
        for axis, radix in zip(self.axes, self.radices, strict=False):
            digit = axis.index_of(params)
            if digit is None:
                return None
            index = index * radix + digit
        return index

    def contains(self, params: Mapping[str, Value]) -> bool:
        """Whether `params` sets exactly this sub-space's dimensions to values they allow."""
        if set(params) != set(self.names):
            return False
        if any(len(axis.dimensions) > 1 and axis.index_of(params) is None for axis in self.axes):
            return False
        return all(d.contains(params[name]) for name, d in self.dimensions.items())


def _params(axes: Sequence[Axis], chosen: Iterable[tuple[Value, ...]]) -> Params:
    params: Params = {}
    for axis, values in zip(axes, chosen, strict=False):
        params.update(zip(axis.names, values, strict=False))
    return params


@dataclass(frozen=True)
class Space:
    """The union of its sub-spaces (one, for a plain mapping)."""

    subspaces: tuple[SubSpace, ...]

    @cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(n for sub in self.subspaces for n in sub.names))

    @cached_property
    def size(self) -> int | None:
        sizes = [sub.size for sub in self.subspaces]
        return None if None in sizes else sum(s for s in sizes if s is not None)

    @property
    def finite(self) -> bool:
        return self.size is not None

    @cached_property
    def width(self) -> int:
        """Coordinates a point of [0, 1)^width needs: one per axis of the widest sub-space."""
        return max(len(sub.axes) for sub in self.subspaces)

    def contains(self, params: Mapping[str, Value]) -> bool:
        return any(sub.contains(params) for sub in self.subspaces)


UNDECIDED: Params = {}
"""What `shared_point` returns when zip groups cross so that it cannot tell (never a point)."""


def shared_point(a: SubSpace, b: SubSpace) -> Params | None:
    """A configuration in both sub-spaces, None when they share none, or UNDECIDED.

    A configuration is the mapping of its dimensions, so sub-spaces of different dimension
    names share none. Dimensions that no zip ties are checked one by one, exactly; names tied
    by zips (in either sub-space) are checked together, by listing the side that is finite.
    """
    if set(a.names) != set(b.names):
        return None
    point: Params = {}
    undecided = False
    for names in _tied(a, b):
        found = _shared_values(names, a, b)
        if found is None:
            return None
        undecided = undecided or found is UNDECIDED
        point.update(found)
    return UNDECIDED if undecided else point


def _tied(a: SubSpace, b: SubSpace) -> list[set[str]]:
    """The names of both sub-spaces, grouped so that names zipped together share a group."""
    groups: list[set[str]] = []
    for axis in (*a.axes, *b.axes):
        joined = set(axis.names)
        for group in [g for g in groups if g & joined]:
            groups.remove(group)
            joined |= group
        groups.append(joined)
    return groups


def _shared_values(names: set[str], a: SubSpace, b: SubSpace) -> Params | None:
    if len(names) == 1:
        (name,) = names
        value = shared_value(a.dimensions[name], b.dimensions[name])
        return None if value is None else {name: value}
    sides = [[axis for axis in sub.axes if set(axis.names) <= names] for sub in (a, b)]
    sizes = [math.prod(axis.size or 0 for axis in axes) for axes in sides]
    listed = [i for i in (0, 1) if all(axis.size for axis in sides[i])]
    listed = [i for i in listed if sizes[i] <= MAX_GRID_POINTS_PER_RANGE]
    if not listed:
        return UNDECIDED
    mine = min(listed, key=lambda i: sizes[i])
    other = sides[1 - mine]
    for chosen in itertools.product(*(range(axis.size or 0) for axis in sides[mine])):
        point = _params(
            sides[mine], (ax.values_at(i) for ax, i in zip(sides[mine], chosen, strict=True))
        )
        if all(_axis_has(axis, point) for axis in other):
            return point
    return None


def _axis_has(axis: Axis, point: Params) -> bool:
    if len(axis.dimensions) == 1:
        return axis.dimensions[0].contains(point[axis.names[0]])
    return axis.index_of(point) is not None
