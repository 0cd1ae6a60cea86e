"""How long to wait before trying a request again, and when to give up.

The `openai` client's own retries are off everywhere (`max_retries=0`): they would send a create
again after an answer that came late, making two jobs of one (API_FACTS section 9). Reads are
retried here with the same backoff; a create is retried only by its caller, after a look-up.
A `Retry-After` the service sends is honoured up to `patience` seconds; a longer one ends the
command with a message saying how long the service asks to wait (a rerun then resumes).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from ftsweep.errors import ServiceError
from ftsweep.provider.backend import Transient

__all__ = ["Retry"]

T = TypeVar("T")


@dataclass(frozen=True)
class Retry:
    """Up to `attempts` tries, waiting `first` seconds, then twice as long each time up to
    `longest`, or what the service's `Retry-After` says (at most `patience`)."""

    attempts: int = 6
    first: float = 0.5
    longest: float = 30.0
    patience: float = 120.0
    sleep: Callable[[float], None] = time.sleep

    def waits(self, error: Transient, attempt: int) -> float:
        """Seconds to wait after failed try number `attempt` (from 1); raises a ServiceError
        when there is no try left or the service asks for a longer wait than `patience`."""
        if error.retry_after is not None and error.retry_after > self.patience:
            raise ServiceError(
                f"{error}; the service asks to wait {error.retry_after:,.0f} s before the next "
                "request, longer than ftsweep waits: nothing more was sent, run the command "
                "again later"
            ) from error
        if attempt >= self.attempts:
            raise ServiceError(f"{error} (tried {attempt} times)") from error
        backoff = min(self.longest, self.first * 2 ** (attempt - 1))
        return error.retry_after if error.retry_after is not None else backoff

    def tries(self) -> Iterator[int]:
        """Try numbers 1, 2, ... (`waits` ends the loop by raising)."""
        attempt = 0
        while True:
            attempt += 1
            yield attempt

    def call(self, request: Callable[[], T]) -> T:
        """`request()`, tried again after each Transient error, for requests that are safe to
        send twice (reads, cancels)."""
        for attempt in self.tries():
            try:
                return request()
            except Transient as error:
                self.sleep(self.waits(error, attempt))
        raise AssertionError("unreachable")  # pragma: no cover
