"""The stand-in's clocks: what "now" means for a job moving through its phases.

A job's status, events and results are a pure function of its record and the clock's time, so
a test that uses `ManualClock` and calls `advance` sees exactly the same service every run.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

#: Where a manual clock starts: 2025-10-09, a plausible Unix time for `created_at` fields.
MANUAL_EPOCH = 1_760_000_000.0


class Clock(Protocol):
    """Anything with a `now()` in Unix seconds."""

    def now(self) -> float: ...


class SystemClock:
    """Wall-clock time; the job phases then last `phase_seconds` of real time each."""

    def now(self) -> float:
        return time.time()


class ManualClock:
    """Time that moves only when a test calls `advance`, so nothing in a test waits."""

    def __init__(self, start: float = MANUAL_EPOCH) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move time forward by `seconds` (>= 0) and return the new time."""
        if seconds < 0:
            raise ValueError(f"a clock only moves forward, but got seconds={seconds}")
        with self._lock:
            self._now += seconds
            return self._now
