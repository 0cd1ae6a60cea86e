"""The one interface every place that runs fine-tuning jobs implements.

A backend creates a job for a trial, finds a trial's job again, lists a sweep's jobs, reads a
job's per-step metrics, and cancels a job. The commands (`submit`, `sync`, `cancel`, `run`) use
nothing else, so a local trainer is one more implementation, not a change to them. OpenAI's
service and Azure OpenAI (v1 and dated APIs) are `ftsweep.provider.service.ServiceBackend`.

Every method makes one attempt: retrying is the caller's business (`ftsweep.provider.retry`),
because only the caller knows whether a request that may have been received can be sent again.
Errors are `ftsweep.errors.ServiceError`s; a `Transient` one may succeed when tried again.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ftsweep.api.job_object import JobObject
from ftsweep.errors import ServiceError

__all__ = ["Backend", "Transient", "TrialJob", "UploadedFile"]


class Transient(ServiceError):
    """A request that failed in a way that may pass when tried again: the connection dropped,
    no answer in time, 408, 409, 429 or a 5xx. `retry_after` is the service's own wait (s);
    `settle` how long the request may still be at work on the service (a request that timed
    out may yet make its job): a caller waits that long before looking for what it made."""

    def __init__(self, message: str, retry_after: float | None = None, settle: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.settle = settle


@dataclass(frozen=True)
class TrialJob:
    """What identifies a trial's job on the service: its key (in the job's metadata), the suffix
    it was created with (the only trace on APIs that keep no metadata) and the earliest time
    (Unix seconds) it can have been created."""

    key: str
    suffix: str | None
    since: int


@dataclass(frozen=True)
class UploadedFile:
    """A data file on the service: its id and status (`processed` once it can be trained on)."""

    id: str
    status: str
    error: str | None = None


class Backend(Protocol):
    """Where a sweep's jobs run; see the module docstring."""

    @property
    def dialect(self) -> str:
        """Which service it is: `openai`, `azure` (v1 API), `azure-dated`; a local trainer
        adds its own."""
        ...

    def close(self) -> None:
        """Release what the backend holds open (connections); it is not used after."""
        ...

    #: Whether jobs carry `metadata` there (Azure's dated API keeps none: jobs are found by
    #: their suffix instead, so the suffix must name the trial).
    keeps_metadata: bool

    def describe(self) -> str:
        """Where the jobs go, for messages: `openai at https://...` (never a key)."""
        ...

    def upload(self, path: Path) -> UploadedFile:
        """Upload a training or validation file (purpose `fine-tune`)."""
        ...

    def file(self, file_id: str) -> UploadedFile:
        """A data file's current status."""
        ...

    def create(self, body: Mapping[str, Any]) -> JobObject:
        """Create one job from its request body. Never retried blindly: an answer lost on the
        way back may mean the job exists; look it up with `find` before creating again."""
        ...

    def find(self, sweep: str, trial: TrialJob) -> JobObject | None:
        """The job made for `trial`, newest first, or None when the service holds none."""
        ...

    def jobs(self, sweep: str, since: int | None) -> Iterator[JobObject]:
        """Every job of the sweep (and maybe others: callers match them), newest first, back to
        `since` (Unix seconds; None: all), page by page."""
        ...

    def job(self, job_id: str) -> JobObject:
        """One job as it is now."""
        ...

    def steps(self, job: JobObject, metrics: Sequence[str]) -> list[dict[str, object]]:
        """The job's per-step metrics, one row per step (`step` and a cell per metric): its
        result file first, then metric events and checkpoints for `metrics` it lacks."""
        ...

    def cancel(self, job_id: str) -> JobObject:
        """Cancel a job; the job as the service answered."""
        ...

    def holds(self, job_id: str) -> bool:
        """Whether the job runs here, taking one of this backend's slots: a service holds all
        its jobs; the local trainer only its own machine's (another host trains the rest)."""
        ...
