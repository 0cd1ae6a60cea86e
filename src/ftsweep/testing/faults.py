"""Programmable faults: what the stand-in does instead of (or besides) answering.

Each `Fault` names a route kind (`"jobs.create"`, `"files.retrieve"`, ...), waits for the
`nth` matching call, then hits `times` calls in a row and is used up. Faults for one route
queue up in the order they were added: a fault starts counting calls once those before it for
the same route are used up, so `add(Fault.rate_limit(r), Fault.drop_after_create(r))` answers
the first call with a 429 and drops the second. Kinds:

- `status`: answer an error status (429, 408, 409, 500, 503, ...) without doing the work, with
  an optional `Retry-After` header; `times=N` makes a storm of them.
- `drop_after_create`: do the work (the job IS created), then close the connection unanswered.
- `delay`: do the work, then sleep `seconds` before answering (later than a client's timeout).
- `slow_create`: sleep `seconds`, then do the work and answer (a slow service).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

FaultKind = Literal["status", "drop_after_create", "delay", "slow_create"]


@dataclass(frozen=True)
class Fault:
    """One planned misbehaviour; build it with the class methods, which check their inputs."""

    kind: FaultKind
    route: str
    nth: int = 1
    times: int = 1
    status_code: int = 0
    retry_after: float | None = None
    seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.nth < 1 or self.times < 1:
            raise ValueError(f"nth >= 1 and times >= 1 must hold, got {self.nth=}, {self.times=}")
        if self.kind == "status" and not 400 <= self.status_code <= 599:
            raise ValueError(f"a status fault needs a 4xx or 5xx code, got {self.status_code}")
        if self.seconds < 0:
            raise ValueError(f"seconds >= 0 must hold, got {self.seconds}")

    @classmethod
    def status(
        cls,
        route: str,
        code: int,
        *,
        retry_after: float | None = None,
        times: int = 1,
        nth: int = 1,
    ) -> Fault:
        """Answer `code` (with `Retry-After: retry_after` when given) and do nothing else."""
        return cls("status", route, nth, times, status_code=code, retry_after=retry_after)

    @classmethod
    def rate_limit(
        cls, route: str, *, retry_after: float | None = 0.01, times: int = 1, nth: int = 1
    ) -> Fault:
        """A 429 with `Retry-After`, the service's answer to too many requests."""
        return cls.status(route, 429, retry_after=retry_after, times=times, nth=nth)

    @classmethod
    def drop_after_create(cls, route: str = "jobs.create", *, nth: int = 1) -> Fault:
        """Do the work, then close the connection without an answer."""
        return cls("drop_after_create", route, nth)

    @classmethod
    def delay(cls, route: str, seconds: float, *, times: int = 1, nth: int = 1) -> Fault:
        """Do the work, then answer `seconds` later."""
        return cls("delay", route, nth, times, seconds=seconds)

    @classmethod
    def slow_create(cls, seconds: float, *, route: str = "jobs.create", nth: int = 1) -> Fault:
        """Wait `seconds`, then do the work and answer."""
        return cls("slow_create", route, nth, seconds=seconds)


class FaultPlan:
    """The faults still to fire, matched per route kind; safe to use from many threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[_Armed] = []

    def add(self, *faults: Fault) -> None:
        with self._lock:
            self._pending.extend(_Armed(fault) for fault in faults)

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()

    def pending(self) -> list[Fault]:
        """Faults that have not been used up yet, in the order they were added."""
        with self._lock:
            return [armed.fault for armed in self._pending]

    def take(self, route: str) -> Fault | None:
        """Count one call of `route` against its first pending fault; return it if it fires."""
        with self._lock:
            head = next((armed for armed in self._pending if armed.fault.route == route), None)
            if head is None:
                return None
            fired = head.count()
            if head.used_up:
                self._pending.remove(head)
            return head.fault if fired else None


class _Armed:
    """A fault and how many matching calls it has seen."""

    def __init__(self, fault: Fault) -> None:
        self.fault = fault
        self.seen = 0

    def count(self) -> bool:
        """Record one matching call; True when this call is one the fault hits."""
        self.seen += 1
        first = self.fault.nth
        return first <= self.seen < first + self.fault.times

    @property
    def used_up(self) -> bool:
        return self.seen >= self.fault.nth + self.fault.times - 1
