"""The lazy grid of a space, and a seeded permutation of its indices.

`Grid` is an indexable sequence over the union of sub-spaces (each the product of its axes),
decoded on demand, never built: a 10^12-point grid costs nothing until its trials are read.
`Permutation` shuffles `range(n)` without storing it (a Feistel network with cycle walking), so
random search visits a finite space without repeats, at any index, in constant memory.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterator, Sequence
from typing import overload

from ftsweep.sweep.space import Params, Space, SubSpace

__all__ = ["Grid", "Permutation"]

_PRODUCT_LIMIT = 1_000_000  # values materialised per sub-space for the C-speed iteration path
_SKIP_LIMIT = 10_000_000  # beyond this start offset, decode instead of skipping


class Grid(Sequence[Params]):
    """Every point of a finite space, in order: sub-spaces one after another."""

    def __init__(self, space: Space) -> None:
        if space.size is None:
            raise ValueError("a grid needs a finite space")
        self.space = space
        self._starts = list(itertools.accumulate((s.size or 0 for s in space.subspaces), initial=0))

    def __len__(self) -> int:
        return self._starts[-1]

    @overload
    def __getitem__(self, index: int) -> Params: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Params]: ...
    def __getitem__(self, index: int | slice) -> Params | Sequence[Params]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"grid index {index} out of range for a grid of {len(self)}")
        sub = bisect.bisect_right(self._starts, index) - 1
        return self.space.subspaces[sub].params_at(index - self._starts[sub])

    def __iter__(self) -> Iterator[Params]:
        return self.iter_from(0)

    def iter_from(self, start: int) -> Iterator[Params]:
        """Points from `start` on, as fast as the sub-space allows."""
        for sub, first in zip(self.space.subspaces, self._starts, strict=False):
            size = sub.size or 0
            if start >= first + size:
                continue
            yield from _iter_subspace(sub, max(start - first, 0))

    def index(self, params: object, start: int = 0, stop: int | None = None) -> int:
        """The grid index of a configuration (ValueError when it is not a grid point)."""
        if isinstance(params, dict):
            for sub, first in zip(self.space.subspaces, self._starts, strict=False):
                found = sub.index_of(params)
                if found is not None:
                    return first + found
        raise ValueError(f"{params!r} is not a point of this grid")


def _iter_subspace(sub: SubSpace, start: int) -> Iterator[Params]:
    if sum(sub.radices) > _PRODUCT_LIMIT or start > _SKIP_LIMIT:
        yield from (sub.params_at(i) for i in range(start, sub.size or 0))
        return
    names = sub.names
    if all(len(axis.dimensions) == 1 for axis in sub.axes):
        flat = [
            [axis.dimensions[0].value_at(i) for i in range(axis.size or 0)] for axis in sub.axes
        ]
        for combo in itertools.islice(itertools.product(*flat), start, None):
            yield dict(zip(names, combo, strict=True))
        return
    columns = [[axis.values_at(i) for i in range(axis.size or 0)] for axis in sub.axes]
    for grouped in itertools.islice(itertools.product(*columns), start, None):
        yield dict(zip(names, itertools.chain.from_iterable(grouped), strict=True))


_MASK64 = (1 << 64) - 1


def _mix(x: int) -> int:
    """splitmix64's finaliser: a fast, well-spread integer hash."""
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9 & _MASK64
    x = (x ^ (x >> 27)) * 0x94D049BB133111EB & _MASK64
    return x ^ (x >> 31)


class Permutation:
    """A seeded bijection of range(n): `p[i]` is the i-th index visited."""

    _ROUNDS = 4

    def __init__(self, n: int, seed: int) -> None:
        if n < 1:
            raise ValueError("a permutation needs n >= 1")
        self.n = n
        bits = max(2, (n - 1).bit_length())
        self._right_bits = bits // 2
        self._left_bits = bits - self._right_bits
        self._keys = [_mix((seed & _MASK64) * 4 + r + 1) for r in range(self._ROUNDS)]

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> int:
        if not 0 <= index < self.n:
            raise IndexError(index)
        x = self._encrypt(index)
        while x >= self.n:  # cycle walking: at most a few steps, since 2^bits < 4n
            x = self._encrypt(x)
        return x

    def _encrypt(self, x: int) -> int:
        lbits, rbits = self._left_bits, self._right_bits
        left, right = x >> rbits, x & ((1 << rbits) - 1)
        for key in self._keys:
            # An unbalanced Feistel round: the halves swap sizes each time.
            left, right = right, left ^ (_mix(key ^ right) & ((1 << lbits) - 1))
            lbits, rbits = rbits, lbits
        # After an even number of rounds the halves are back to their original sizes.
        return (left << rbits) | right
