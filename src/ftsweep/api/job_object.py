"""What the service returns for a job: the `fine_tuning.job` object, as one item of a list page
or the answer to retrieve or create.

The models allow unknown fields, so a field the service adds later never breaks a read, and check
only the fields ftsweep uses. Resolved hyperparameters (after "auto") are in
`method.<type>.hyperparameters`; the top-level `hyperparameters` is filled only for supervised
jobs (API_FACTS 3.8), so it is only a fallback for those and for legacy jobs without `method`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ftsweep.api.hyperparameters import RULES
from ftsweep.errors import Problem

__all__ = [
    "DATA_FILES",
    "FINISHED",
    "Finished",
    "Hyperparameters",
    "JobError",
    "JobInfo",
    "JobMethod",
    "JobObject",
    "ResolvedMethod",
    "error_text",
    "load_job",
]

Loc = tuple[str | int, ...]
Hyperparameters = dict[str, str | int | float]
Finished = Literal["succeeded", "failed", "cancelled"]

#: The fields of a job naming its data; a job object that leaves one out does not say it.
DATA_FILES = ("training_file", "validation_file")

#: The statuses of a job that will not change any more; any other status is "not finished".
FINISHED: tuple[Finished, ...] = ("succeeded", "failed", "cancelled")


@dataclass(frozen=True, slots=True)
class JobInfo:
    """What `ftsweep import` needs from a job object."""

    id: str
    model: str  # the base model
    method: str | None  # method.type; None for legacy jobs without `method`
    hyperparameters: Hyperparameters  # as the service resolved them, "auto" kept
    status: str  # raw, including validating_files, queued, running and paused
    fine_tuned_model: str | None
    created_at: int | None  # unix seconds
    finished_at: int | None
    metadata: dict[str, str]
    seed: int | None
    files: dict[str, str | None] = field(default_factory=dict)  # the data files it states


class _Returned(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class JobError(_Returned):
    """`error` of a failed job."""

    code: str | None = None
    message: str | None = None
    param: str | None = None


class ResolvedMethod(_Returned):
    """`method.<type>` of a job: only its hyperparameters matter here."""

    hyperparameters: dict[str, Any] | None = None


class JobMethod(_Returned):
    """`method` of a job."""

    type: str
    supervised: ResolvedMethod | None = None
    dpo: ResolvedMethod | None = None
    reinforcement: ResolvedMethod | None = None


class JobObject(_Returned):
    """A `fine_tuning.job` object, the fields ftsweep reads."""

    id: str
    object: Literal["fine_tuning.job"] = "fine_tuning.job"
    model: str
    status: str
    created_at: int | None = None
    finished_at: int | None = None
    fine_tuned_model: str | None = None
    error: JobError | None = None
    trained_tokens: int | None = Field(default=None, ge=0)
    hyperparameters: dict[str, Any] | None = None
    method: JobMethod | None = None
    metadata: dict[str, str] | None = None
    seed: int | None = None
    training_file: str | None = None
    validation_file: str | None = None
    result_files: list[str] | None = None  # null on Azure while there are none
    user_provided_suffix: str | None = None

    @property
    def finished(self) -> Finished | None:
        """The status when the job is over, None while it may still change."""
        return next((s for s in FINISHED if s == self.status), None)

    @property
    def key(self) -> str | None:
        """The ftsweep trial key the job carries in its metadata."""
        return (self.metadata or {}).get("ftsweep_trial") or None

    def hyperparameter_sources(self) -> list[tuple[Loc, dict[str, Any]]]:
        """Where the resolved hyperparameters are and what is there; later sources win."""
        method = self.method
        config = getattr(method, method.type, None) if method is not None else None
        own = config.hyperparameters if isinstance(config, ResolvedMethod) else None
        sources: list[tuple[Loc, dict[str, Any]]] = []
        if method is None or method.type == "supervised":
            sources.append((("hyperparameters",), self.hyperparameters or {}))
        if method is not None:
            sources.append((("method", method.type, "hyperparameters"), own or {}))
        return sources

    def info(self, hyperparameters: Hyperparameters) -> JobInfo:
        return JobInfo(
            id=self.id,
            model=self.model,
            method=self.method.type if self.method is not None else None,
            hyperparameters=hyperparameters,
            status=self.status,
            fine_tuned_model=self.fine_tuned_model,
            created_at=self.created_at,
            finished_at=self.finished_at,
            metadata=dict(self.metadata or {}),
            seed=self.seed,
            files={f: getattr(self, f) for f in DATA_FILES if f in self.model_fields_set},
        )


def load_job(
    data: Mapping[str, Any], prefix: Loc = (), line: int | None = None
) -> tuple[JobObject | None, Hyperparameters, list[Problem]]:
    """Check a job object: the model, its resolved hyperparameters, and every problem found."""
    try:
        job = JobObject.model_validate(data)
    except ValidationError as exc:
        return None, {}, [_problem(prefix, err, line) for err in exc.errors()]
    resolved, problems = _resolved(job, prefix, line)
    return job, resolved, problems


def _resolved(
    job: JobObject, prefix: Loc, line: int | None
) -> tuple[Hyperparameters, list[Problem]]:
    """The hyperparameters ftsweep knows (RULES), as resolved; "auto" stays "auto"."""
    resolved: Hyperparameters = {}
    problems: list[Problem] = []
    for at, raw in job.hyperparameter_sources():
        for name, value in raw.items():
            if name not in RULES or value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                rule = "must be a number or a string"
                problems.append(Problem((*prefix, *at, name), rule, value, line=line))
            else:
                resolved[name] = value
    return resolved, problems


def error_text(error: JobError | Mapping[str, Any] | None) -> str | None:
    """A job error as one line, `code: message`; None when it says nothing."""
    if isinstance(error, Mapping):
        error = JobError.model_validate({k: _text(v) for k, v in error.items()})
    if error is None:
        return None
    parts = [p for p in (error.code, error.message) if p]
    return ": ".join(parts) or None


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _problem(prefix: Loc, err: Any, line: int | None) -> Problem:
    loc = (*prefix, *err["loc"])
    if err["type"] == "missing":
        return Problem(loc, "is required in a job object", line=line)
    return Problem(loc, err["msg"], err["input"], line=line)
