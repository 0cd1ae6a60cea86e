"""What one `ask` hands out: its trials, and why there are fewer than asked for."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ftsweep.sweep.space import Params

__all__ = ["AskedTrial", "Batch", "Shortfall"]


@dataclass(frozen=True)
class AskedTrial:
    """A trial handed out: its number, stable key, hyperparameters and job request body."""

    number: int
    key: str
    params: Params
    body: dict[str, Any]


@dataclass(frozen=True)
class Shortfall:
    """Why a batch holds fewer trials than were asked for: `kind` is `max_trials` (the sweep's
    limit is reached), `space` (no untried configuration is left) or `budget` (the next trial's
    estimate would take the sweep over its budget); `reason` says it in words."""

    kind: str
    reason: str


class Batch(list[AskedTrial]):
    """The trials one `ask` handed out, in order; `shortfall` is None when all were handed out."""

    def __init__(
        self, trials: Sequence[AskedTrial], requested: int, shortfall: Shortfall | None = None
    ) -> None:
        super().__init__(trials)
        self.requested = requested
        self.shortfall = shortfall
