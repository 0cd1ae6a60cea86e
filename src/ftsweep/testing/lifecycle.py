"""A job's life on the clock: phases, resolved hyperparameters, events and checkpoints.

Everything here is a pure function of a `JobRecord` and a time, so reading a job twice at the
same time gives the same answer and the manual clock makes tests exact. A job spends one
`phase_seconds` in each of `validating_files`, `queued` and `running`, then `succeeded` (or
`failed`); metric events appear step by step while it runs.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import orjson

from ftsweep.testing.outcomes import Row
from ftsweep.testing.validation import JobSpec

#: What "auto" resolves to once a job runs (n_epochs follows the published rule instead).
AUTO_VALUES: dict[str, object] = {
    "batch_size": 1,
    "learning_rate_multiplier": 1.8,
    "beta": 0.1,
    "compute_multiplier": 1.0,
    "eval_interval": 1,
    "eval_samples": 10,
}
MIN_EXAMPLES = 10
TERMINAL = ("succeeded", "failed", "cancelled")


@dataclass(frozen=True)
class JobError:
    """Why a job failed: the job object's `error` field."""

    code: str
    message: str
    param: str | None = None


@dataclass
class JobRecord:
    """What the stand-in remembers about one job; only `cancelled_at` changes after creation."""

    id: str
    spec: JobSpec
    dialect: str
    created_at: float
    phase_seconds: float
    resolved: dict[str, object]
    rows: list[Row]
    trained_tokens: int
    fine_tuned_model: str
    result_file_id: str
    organization: str
    error: JobError | None = None
    fails_in_validation: bool = False
    cancelled_at: float | None = None

    def started_at(self) -> float:
        return self.created_at + 2 * self.phase_seconds

    def ends_at(self) -> float:
        """When the job reaches its own terminal state, ignoring a cancel."""
        phases = 1 if self.fails_in_validation else 3
        return self.created_at + phases * self.phase_seconds

    def status(self, now: float) -> str:
        if self.cancelled_at is not None and now >= self.cancelled_at:
            return "cancelled"
        if now >= self.ends_at():
            return "failed" if self.error else "succeeded"
        elapsed = now - self.created_at
        return ("validating_files", "queued", "running")[min(2, int(elapsed // self.phase_seconds))]

    def finished_at(self, now: float) -> float | None:
        status = self.status(now)
        if status == "cancelled":
            return self.cancelled_at
        return self.ends_at() if status in TERMINAL else None

    def resolved_now(self, now: float) -> bool:
        """Whether "auto" values have been resolved: from the moment the job runs."""
        return (
            not self.fails_in_validation
            and now >= self.started_at()
            and (self.cancelled_at is None or self.cancelled_at >= self.started_at())
        )

    def step_time(self, index: int) -> float:
        """When metric row `index` (0-based) is reported, spread evenly over the running phase."""
        return self.started_at() + self.phase_seconds * (index + 1) / (len(self.rows) + 1)

    def visible_rows(self, now: float) -> list[Row]:
        until = now if self.cancelled_at is None else min(now, self.cancelled_at)
        if self.fails_in_validation:
            return []
        return [row for i, row in enumerate(self.rows) if self.step_time(i) <= until]


def resolve(spec: JobSpec, n_examples: int) -> dict[str, object]:
    """The hyperparameters the job trains with: "auto" replaced by the service's choice."""
    resolved = dict(spec.hyperparameters)
    for name, value in spec.hyperparameters.items():
        if value != "auto":
            continue
        resolved[name] = auto_epochs(n_examples) if name == "n_epochs" else AUTO_VALUES[name]
    return resolved


def auto_epochs(n_examples: int) -> int:
    """API_FACTS section 6: 3 epochs, more for small files and fewer for large ones."""
    examples = max(1, n_examples)
    if examples * 3 < 100:
        return min(25, 100 // examples)
    if examples * 3 > 25_000:
        return max(1, 25_000 // examples)
    return 3


def digest(*parts: object, length: int = 24) -> str:
    """A deterministic hex id fragment from `parts`."""
    text = "/".join(str(part) for part in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def fine_tuned_name(spec: JobSpec, dialect: str, organization: str, job_id: str) -> str:
    """OpenAI's `ft:<model>:<org>:<suffix>:<id>`; Azure's `<model>.ft-<job>-<suffix>`."""
    suffix = spec.suffix or ""
    if dialect == "openai":
        return f"ft:{spec.model}:{organization}:{suffix}:{digest(job_id, length=8)}"
    tail = f"-{suffix}" if suffix else ""
    return f"{spec.model}.ft-{job_id.removeprefix('ftjob-')}{tail}"


def trained_tokens(line_tokens: list[int], n_epochs: int) -> int:
    """About n_epochs x the tokens of the training file (API_FACTS section 6)."""
    return n_epochs * sum(line_tokens)


def epoch_end_rows(rows: list[Row]) -> list[Row]:
    """Rows computed on the whole validation file: the end of each epoch."""
    return [row for row in rows if "full_valid_loss" in row or "full_valid_mean_reward" in row]


def line_tokens(line: bytes, method: str = "supervised") -> int:
    """The tokens of one training example, counted offline as the service bills them (the
    cookbook's chat count with o200k_base, capped at the context), so that a job's
    `trained_tokens` matches what `ftsweep plan` estimates; a row that is not a JSON object
    counts a token per four bytes."""
    from ftsweep.data.tokens import CONTEXT_LIMIT, count_example

    try:
        row = orjson.loads(line)
    except orjson.JSONDecodeError:
        row = None
    if not isinstance(row, dict):
        return max(1, math.ceil(len(line) / 4))
    return min(CONTEXT_LIMIT, count_example(row, method))
