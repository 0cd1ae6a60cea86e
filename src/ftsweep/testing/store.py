"""The stand-in's state: files, jobs and the request log, behind one lock.

Routes call these methods; each takes the lock, reads the clock once and works on records whose
view at any time is a pure function of that time (see `lifecycle`).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from ftsweep.testing.clock import Clock
from ftsweep.testing.errors import Dialect, ServiceError, invalid, not_found
from ftsweep.testing.lifecycle import (
    MIN_EXAMPLES,
    TERMINAL,
    JobError,
    JobRecord,
    digest,
    fine_tuned_name,
    line_tokens,
    resolve,
    trained_tokens,
)
from ftsweep.testing.outcomes import (
    OutcomeFn,
    TrialInput,
    learning_speed,
    result_csv,
    step_rows,
    total_steps,
)
from ftsweep.testing.validation import JobSpec, check_job

FailFn = Callable[[JobSpec], JobError | None]


@dataclass(frozen=True)
class Settings:
    """How the stand-in behaves; see `StandIn` for each field."""

    models: Collection[str]
    outcome: OutcomeFn
    fail_when: FailFn | None
    phase_seconds: float
    organization: str


@dataclass(frozen=True)
class FileRecord:
    """An uploaded file, or a job's result file (`result_of` set, visible once it succeeds)."""

    id: str
    filename: str
    purpose: str
    content: bytes
    created_at: float
    ready_at: float
    dialect: Dialect
    problem: str | None = None
    result_of: str | None = None

    def status(self, now: float) -> str:
        if now < self.ready_at:
            return "pending" if self.dialect == "azure" else "uploaded"
        return "error" if self.problem else "processed"

    def lines(self) -> list[bytes]:
        return [line for line in self.content.splitlines() if line.strip()]


@dataclass(frozen=True)
class RequestRecord:
    """One request as the stand-in saw it; `status` 0 when the connection was dropped."""

    method: str
    path: str
    kind: str
    dialect: str
    status: int


@dataclass
class Store:
    """Files, jobs and the request log; every public method is thread-safe."""

    settings: Settings
    clock: Clock
    files: dict[str, FileRecord] = field(default_factory=dict)
    jobs: dict[str, JobRecord] = field(default_factory=dict)
    requests: list[RequestRecord] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def now(self) -> float:
        return self.clock.now()

    def log(self, record: RequestRecord) -> None:
        with self.lock:
            self.requests.append(record)

    def counts(self) -> Counter[str]:
        """Requests per route kind (`jobs.create`, `files.retrieve`, ...)."""
        with self.lock:
            return Counter(record.kind for record in self.requests)

    def add_file(self, filename: str, purpose: str, content: bytes, dialect: Dialect) -> FileRecord:
        if purpose != "fine-tune":
            raise invalid(
                f"Invalid purpose {purpose!r}; this service takes 'fine-tune'.", "purpose"
            )
        with self.lock:
            now = self.now()
            ident = f"file-{digest('file', len(self.files), length=_id_length(dialect))}"
            record = FileRecord(
                id=ident,
                filename=filename,
                purpose=purpose,
                content=content,
                created_at=now,
                ready_at=now + self.settings.phase_seconds,
                dialect=dialect,
                problem=jsonl_problem(content),
            )
            self.files[ident] = record
            return record

    def file(self, ident: str) -> tuple[FileRecord, float]:
        """The file and the time it is seen at; a result file only once its job succeeded."""
        with self.lock:
            now = self.now()
            record = self.files.get(ident)
            if record is None or not self._visible(record, now):
                raise not_found("file", ident)
            return record, now

    def _visible(self, record: FileRecord, now: float) -> bool:
        if record.result_of is None:
            return True
        return self.jobs[record.result_of].status(now) == "succeeded"

    def _file_status(self, now: float) -> Callable[[str], str | None]:
        def status(ident: str) -> str | None:
            record = self.files.get(ident)
            if record is None or record.result_of is not None:
                return None
            return record.status(now)

        return status

    def create_job(self, body: dict[str, object], dialect: Dialect) -> tuple[JobRecord, float]:
        with self.lock:
            now = self.now()
            spec = check_job(body, dialect, self.settings.models, self._file_status(now))
            ident = f"ftjob-{digest('job', len(self.jobs), length=_id_length(dialect))}"
            job = self._new_job(ident, spec, dialect, now)
            self.jobs[ident] = job
            self.files[job.result_file_id] = self._result_file(job, dialect)
            return job, now

    def _new_job(self, ident: str, spec: JobSpec, dialect: Dialect, now: float) -> JobRecord:
        lines = self.files[spec.training_file].lines()
        resolved = resolve(spec, len(lines))
        epochs, batch = _as_int(resolved["n_epochs"]), _as_int(resolved["batch_size"])
        trial = TrialInput(spec.model, spec.method, resolved, spec.seed)
        steps = total_steps(len(lines), epochs, batch)
        tokens = [line_tokens(line, spec.method) for line in lines]
        final = self.settings.outcome(trial)
        fail_early = spec.method != "reinforcement" and len(lines) < MIN_EXAMPLES
        return JobRecord(
            id=ident,
            spec=spec,
            dialect=dialect,
            created_at=now,
            phase_seconds=self.settings.phase_seconds,
            resolved=resolved,
            rows=step_rows(
                spec.method,
                final,
                steps,
                epochs,
                spec.validation_file is not None,
                speed=learning_speed(trial),
            ),
            trained_tokens=trained_tokens(tokens, epochs),
            fine_tuned_model=fine_tuned_name(spec, dialect, self.settings.organization, ident),
            result_file_id=f"file-{digest('result', ident, length=_id_length(dialect))}",
            organization=self.settings.organization,
            error=_too_few_examples(len(lines)) if fail_early else self._failure(spec),
            fails_in_validation=fail_early,
        )

    def _failure(self, spec: JobSpec) -> JobError | None:
        return self.settings.fail_when(spec) if self.settings.fail_when else None

    def _result_file(self, job: JobRecord, dialect: Dialect) -> FileRecord:
        return FileRecord(
            id=job.result_file_id,
            filename="step_metrics.csv",
            purpose="fine-tune-results",
            content=result_csv(job.spec.method, job.rows).encode(),
            created_at=job.ends_at(),
            ready_at=job.ends_at(),
            dialect=dialect,
            result_of=job.id,
        )

    def job(self, ident: str) -> tuple[JobRecord, float]:
        with self.lock:
            record = self.jobs.get(ident)
            if record is None:
                raise not_found("job", ident)
            return record, self.now()

    def newest_jobs(self) -> tuple[list[JobRecord], float]:
        """All jobs, newest first (creation order breaks ties of `created_at`)."""
        with self.lock:
            return list(reversed(self.jobs.values())), self.now()

    def cancel(self, ident: str) -> tuple[JobRecord, float]:
        with self.lock:
            job, now = self.job(ident)
            status = job.status(now)
            if status in TERMINAL:
                message = (
                    f"Job {ident} has already finished (status {status}) and cannot be cancelled."
                )
                raise ServiceError(400, message, code="invalid_job_state", param=None)
            job.cancelled_at = now
            return job, now


def jsonl_problem(content: bytes) -> str | None:
    """The `status_details` of a fine-tune upload whose lines are not all JSON objects."""
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            parsed = json.loads(line)
        except ValueError:
            return f"Invalid file format. Line {number}: not valid JSON."
        if not isinstance(parsed, dict):
            return f"Invalid file format. Line {number}: expected a JSON object."
    return None


def _too_few_examples(count: int) -> JobError:
    message = (
        f"The job failed due to an invalid training file. Training file has {count} example(s), "
        f"but must have at least {MIN_EXAMPLES} examples"
    )
    return JobError("invalid_n_examples", message, "training_file")


def _id_length(dialect: Dialect) -> int:
    return 24 if dialect == "openai" else 32


def _as_int(value: object) -> int:
    assert isinstance(value, int), value
    return value
