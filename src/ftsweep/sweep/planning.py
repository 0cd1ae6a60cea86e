"""Plans: the trials a sweep would hand out, produced lazily, without touching any study."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ftsweep.errors import PlanError
from ftsweep.sweep.jobs import JobRenderer
from ftsweep.sweep.load import Sweep
from ftsweep.sweep.space import Params, configuration_key
from ftsweep.sweep.start import opening
from ftsweep.sweep.strategies import ADAPTIVE, sequence

__all__ = ["Plan", "Trial", "plan"]


@dataclass(frozen=True, slots=True)
class Trial:
    """One planned trial: its number in the sweep's sequence, its stable key, its values."""

    index: int
    key: str
    params: Params


class Plan:
    """The first `len(plan)` trials of a sweep's strategy, produced on demand."""

    def __init__(self, sweep: Sweep, count: int, start: int = 0) -> None:
        self.sweep = sweep
        self.count = count
        self.start = start
        self.renderer = JobRenderer(sweep)

    def __len__(self) -> int:
        return self.count

    @property
    def adaptive(self) -> bool:
        """Whether the strategy chooses values at ask time: the plan shows its start exactly (what
        `ask` hands out first on a new study), then illustrates the space with seeded random
        points (not the values `ask` will hand out)."""
        return self.sweep.strategy in ADAPTIVE

    @cached_property
    def opening(self) -> list[Params]:
        """The start of an adaptive strategy, exactly; empty for a static one."""
        return list(opening(self.sweep)) if self.adaptive else []

    def items(self) -> Iterator[tuple[int, Params]]:
        """(trial number, hyperparameters) pairs, in order."""
        space, seed = self.sweep.space, self.sweep.spec.seed
        if not self.adaptive:
            points = sequence(space, self.sweep.strategy, seed, self.start)
        else:
            start = self.opening
            taken = {configuration_key(p) for p in start}
            examples = (
                p for p in sequence(space, "random", seed) if configuration_key(p) not in taken
            )
            points = itertools.islice(itertools.chain(start, examples), self.start, None)
        return zip(itertools.count(self.start), itertools.islice(points, self.count), strict=False)

    def __iter__(self) -> Iterator[Trial]:
        key = self.renderer.key
        return (Trial(i, key(i), params) for i, params in self.items())

    def bodies(self) -> Iterator[dict[str, Any]]:
        """One `fine_tuning.jobs.create` body per trial."""
        body = self.renderer.body
        return (body(i, params) for i, params in self.items())


def plan(sweep: Sweep, limit: int | None = None) -> Plan:
    """The trials `sweep` would run: all of them, at most `max_trials`, or at most `limit`."""
    if limit is not None and not 0 <= limit <= sys.maxsize:
        raise PlanError(f"limit must be 0 to {sys.maxsize:,}, got {limit:,}")
    bounds = [b for b in (limit, sweep.plan_size) if b is not None]
    if not bounds:
        raise PlanError(
            f"{sweep.file}: sweep {sweep.name!r} has continuous ranges and no max_trials, so its "
            "plan never ends: give a limit (ftsweep plan --limit N) or set max_trials"
        )
    return Plan(sweep, min(bounds))
