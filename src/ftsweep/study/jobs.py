"""What the service reports about a job: the job object, and the job's per-step result file.

A job object is what `fine_tuning.jobs.retrieve` returns and one item of a `jobs.list` page. The
models allow unknown fields, so a field the service adds later never breaks a read, and check
only the fields ftsweep uses. Resolved hyperparameters (after "auto") are in
`method.<type>.hyperparameters`; the top-level `hyperparameters` is filled only for supervised
jobs (API_FACTS 3.8), so it is only a fallback for those and for legacy jobs without `method`.

A per-step result file is a CSV with a `step` column and one column per metric; validation
columns are empty on steps without validation (API_FACTS 7). Each objective metric is reduced over
the steps that have a value. The service may return the file base64-encoded.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ftsweep.api.hyperparameters import RULES
from ftsweep.errors import Problem, ResultsError
from ftsweep.sweep.spec import Objective

__all__ = [
    "DATA_FILES",
    "FINISHED",
    "JobInfo",
    "JobObject",
    "error_text",
    "finite",
    "load_job",
    "metric_cell",
    "present",
    "reduce_steps",
    "step_values",
    "unwrap_base64",
    "whole",
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


class MethodConfig(_Returned):
    """`method.<type>` of a job: only its hyperparameters matter here."""

    hyperparameters: dict[str, Any] | None = None


class JobMethod(_Returned):
    """`method` of a job."""

    type: str
    supervised: MethodConfig | None = None
    dpo: MethodConfig | None = None
    reinforcement: MethodConfig | None = None


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
        own = config.hyperparameters if isinstance(config, MethodConfig) else None
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


# --- a job's per-step result file ------------------------------------------------------------

Numbered = tuple[int, Mapping[str, str]]  # a row and the line it starts on
Reduce = Literal["last", "min", "max"]

METRIC_RULE = "must be a finite number (a run that diverged is a failed row)"
COUNT_RULE = "must be a whole number >= 0"


def unwrap_base64(text: str) -> str:
    """The CSV inside, when the service returned a result file base64-encoded."""
    if "," in text:
        return text
    try:
        decoded = base64.b64decode("".join(text.split()), validate=True).decode("utf-8-sig")
    except (binascii.Error, UnicodeDecodeError):
        return text
    return decoded if decoded.startswith("step,") else text


def step_values(
    header: Sequence[str], table: Sequence[Numbered], objectives: Sequence[Objective]
) -> tuple[dict[str, float], list[Problem]]:
    """Each objective metric reduced over the steps that have a value, and every problem."""
    steps, problems = _steps(table)
    values: dict[str, float] = {}
    for objective in objectives:
        pairs, found = _metric_pairs(table, steps, objective.metric)
        problems += found or ([] if pairs else [_no_values(header, objective.metric)])
        if pairs:
            values[objective.metric] = _reduce(pairs, objective.reduce)
    return values, problems


def reduce_steps(rows: Iterable[Mapping[str, str]], metric: str, how: Reduce) -> float | None:
    """Reduce a metric over per-step rows: `last` is the value at the highest step.

    Rows without a value are skipped, `scores.<metric>` counts as `metric`; None when no row has a
    value. A bad `step` or value raises a ResultsError whose lines count the rows from 2, as in a
    CSV file with a header.
    """
    table = list(enumerate(rows, start=2))
    steps, problems = _steps(table)
    pairs, more = _metric_pairs(table, steps, metric)
    if problems or more:
        raise ResultsError("<steps>", problems + more)
    return _reduce(pairs, how) if pairs else None


def _steps(table: Sequence[Numbered]) -> tuple[list[int | None], list[Problem]]:
    steps: list[int | None] = []
    problems: list[Problem] = []
    for line, cells in table:
        value = present(cells.get("step"))
        step = None if value is None else whole(value)
        if step is None:
            problems.append(Problem(("step",), COUNT_RULE, value, line=line))
        steps.append(step)
    return steps, problems


def _metric_pairs(
    table: Sequence[Numbered], steps: Sequence[int | None], metric: str
) -> tuple[list[tuple[int, float]], list[Problem]]:
    """(step, value) of every row that has a value for `metric`, and the bad values."""
    pairs: list[tuple[int, float]] = []
    problems: list[Problem] = []
    for (line, cells), step in zip(table, steps, strict=True):
        value = metric_cell(cells, metric)
        number = None if value is None else finite(value)
        if value is not None and number is None:
            problems.append(Problem((metric,), METRIC_RULE, value, line=line))
        if number is not None and step is not None:
            pairs.append((step, number))
    return pairs, problems


def _no_values(header: Sequence[str], metric: str) -> Problem:
    if metric in header or f"scores.{metric}" in header:
        return Problem((metric,), "no step has a value for this objective metric")
    columns = ", ".join(header)
    message = f"no {metric} or scores.{metric} column; the columns are: {columns}"
    return Problem((metric,), message, line=1)


def _reduce(pairs: Sequence[tuple[int, float]], how: Reduce) -> float:
    values = [value for _, value in pairs]
    if how == "min":
        return min(values)
    if how == "max":
        return max(values)
    return sorted(pairs, key=lambda pair: pair[0])[-1][1]  # stable: the later row wins a tie


# --- cells ------------------------------------------------------------------------------------


def metric_cell(cells: Mapping[str, object], name: str) -> object:
    """A metric's raw value under its name, `scores.<name>`, or in a nested `scores` object."""
    scores = cells.get("scores")
    nested = scores.get(name) if isinstance(scores, Mapping) else None
    candidates = (cells.get(name), cells.get(f"scores.{name}"), nested)
    return next((v for v in map(present, candidates) if v is not None), None)


def present(value: object) -> object:
    """A cell's value, stripped; None when it is absent or empty."""
    if isinstance(value, str):
        value = value.strip()
    return None if value == "" else value


def finite(value: object) -> float | None:
    """A finite float from a JSON number or a numeric string; None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def whole(value: object) -> int | None:
    """A whole number >= 0 from an int, an integral float (`7.0`) or such a string."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value >= 0 else None
    number = finite(value)
    if number is None or not number.is_integer() or number < 0:
        return None
    return int(number)
