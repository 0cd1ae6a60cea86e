"""A trial's result as one record, and one result row (a CSV row or a JSON object) read into it.

A row names its trial by a `trial` (number), `ftsweep_trial` (key) or `job_id` field (a number
and a key that name different trials are refused) and carries a value for each objective metric
(`scores.<metric>` also counts), an optional `status`, `trained_tokens` and `error`. Empty cells
are missing values. A row without a status that carries its metrics succeeded; `failed` and
`cancelled` rows need no metrics and keep none; a row not finished yet (validating_files, queued,
running, paused) has status None and no values. An error text (a row's or a job's) is cut to its
first ERROR_LIMIT characters, the cut marked, so a study attribute stays small. Reading files and
telling their formats apart is `ftsweep.study.results`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from ftsweep.api.job_object import Finished, Hyperparameters, JobInfo, error_text
from ftsweep.errors import Problem
from ftsweep.study.cells import finite, metric_cell, present, whole
from ftsweep.study.steps import COUNT_RULE, METRIC_RULE
from ftsweep.sweep.spec import Objective

__all__ = [
    "ERROR_LIMIT",
    "ID_FIELDS",
    "NO_TRIAL",
    "NO_VALUE",
    "Loc",
    "Parsed",
    "Result",
    "Site",
    "TrialRef",
    "capped",
    "key_number",
    "row_result",
]

Loc = tuple[str | int, ...]
_UNSET: Any = object()  # no value to quote in a Problem

#: The fields that name a row's trial, strongest first.
ID_FIELDS = ("ftsweep_trial", "trial", "job_id")
_STATUSES: dict[str, Finished | None] = {
    "succeeded": "succeeded",
    "failed": "failed",
    "cancelled": "cancelled",
    **dict.fromkeys(("validating_files", "queued", "running", "paused")),
}

STATUS_RULE = (
    "must be succeeded, failed or cancelled (or validating_files, queued, running or paused "
    "for a job not finished yet)"
)
NO_TRIAL = "the row names no trial: give its trial number, ftsweep_trial key or job_id"
NO_VALUE = "no value; a row that succeeded needs every objective metric"

#: The most characters of an error text a Result keeps (a study attribute should stay small).
ERROR_LIMIT = 2000


def capped(error: str | None) -> str | None:
    """An error text cut to its first ERROR_LIMIT characters, the cut marked."""
    if error is None or len(error) <= ERROR_LIMIT:
        return error
    return f"{error[:ERROR_LIMIT]} … ({len(error) - ERROR_LIMIT:,} characters cut)"


class TrialRef(NamedTuple):
    """How a record names its trial: by key, by number or by the id of its job."""

    kind: Literal["key", "trial", "job_id"]
    value: str | int


@dataclass(frozen=True, slots=True)
class Result:
    """One trial's result as a file or a job object states it, normalised."""

    source: str  # the file path as given
    row: int  # 1-based line (JSONL), CSV row (header = 1), or index in a JSON list (1-based)
    trial: int | None  # trial number, from a `trial` field
    key: str | None  # trial key, from `ftsweep_trial` (field or job metadata)
    job_id: str | None  # from `job_id`, or a job object's `id`
    status: Finished | None  # None: not finished yet
    values: dict[str, float]  # objective metric -> value (reduced); empty unless succeeded
    trained_tokens: int | None
    error: str | None  # why the job failed: `code: message`, or an `error` field
    resolved: Hyperparameters  # hyperparameters as the service resolved them (job objects)
    job: JobInfo | None  # present when the record came from a job object

    def __post_init__(self) -> None:
        if self.trial is None and self.key is None and self.job_id is None:
            raise ValueError("a Result names its trial by trial, key or job_id")

    @property
    def ref(self) -> TrialRef:
        """The strongest name of the trial: its key, else its number, else its job's id."""
        if self.key is not None:
            return TrialRef("key", self.key)
        if self.trial is not None:
            return TrialRef("trial", self.trial)
        assert self.job_id is not None
        return TrialRef("job_id", self.job_id)


@dataclass(frozen=True, slots=True)
class Site:
    """Where a record is: its file, its row number, its field path (JSON) and line (CSV, JSONL)."""

    source: str
    row: int
    prefix: Loc = ()
    line: int | None = None

    def problem(self, loc: Loc, message: str, value: object = _UNSET) -> Problem:
        where = (*self.prefix, *loc)
        if value is _UNSET:
            return Problem(where, message, line=self.line)
        return Problem(where, message, value, line=self.line)


#: A record read from one item, or None, and what is wrong with the item.
Parsed = tuple[Result | None, list[Problem]]


class _Row:
    """One result row's fields, read one by one; what is wrong piles up in `problems`."""

    def __init__(self, cells: Mapping[str, object], site: Site) -> None:
        self.cells = cells
        self.site = site
        self.problems: list[Problem] = []

    def fail(self, name: str, message: str, value: object = _UNSET) -> None:
        self.problems.append(self.site.problem((name,), message, value))

    def cell(self, name: str) -> object:
        """The value of a field; None when it is absent or empty."""
        return present(self.cells.get(name))

    def count(self, name: str) -> int | None:
        value = self.cell(name)
        number = None if value is None else whole(value)
        if value is not None and number is None:
            self.fail(name, COUNT_RULE, value)
        return number

    def text(self, name: str) -> str | None:
        value = self.cell(name)
        if value is None or isinstance(value, str):
            return value
        self.fail(name, "must be a string", value)
        return None

    def error(self) -> str | None:
        """Why the job failed: a string, or a job's error object (`code: message`)."""
        value = self.cell("error")
        return capped(error_text(value) if isinstance(value, Mapping) else self.text("error"))

    def status(self) -> Finished | None:
        """The row's status; a row that states none succeeded, if its metrics are there."""
        value = self.cell("status")
        if value is None:
            return "succeeded"
        if isinstance(value, str) and value.lower() in _STATUSES:
            return _STATUSES[value.lower()]
        self.fail("status", STATUS_RULE, value)
        return None

    def metric(self, name: str) -> float | None:
        """An objective metric's value, under its name, `scores.<name>` or in `scores`."""
        value = metric_cell(self.cells, name)
        if value is None:
            self.fail(name, NO_VALUE)
            return None
        number = finite(value)
        if number is None:
            self.fail(name, METRIC_RULE, value)
        return number


def key_number(key: str) -> int | None:
    """The trial number at the end of a key (`dpo-beta-0007` is 7), whatever its sweep."""
    digits = key.rpartition("-")[2]
    return int(digits) if digits.isascii() and digits.isdigit() else None


def row_result(cells: Mapping[str, object], site: Site, objectives: Sequence[Objective]) -> Parsed:
    """One result row as a Result, or None and every problem the row has."""
    row = _Row(cells, site)
    status = row.status()
    if all(row.cell(name) is None for name in ID_FIELDS):
        row.fail("trial", NO_TRIAL)
    trial, key, job_id = row.count("trial"), row.text("ftsweep_trial"), row.text("job_id")
    named = None if key is None else key_number(key)
    if trial is not None and named not in (None, trial):
        why = f"{key} (trial {named}) and trial {trial} name different trials"
        row.fail("ftsweep_trial", f"{why}: correct one, or give only one")
    values: dict[str, float] = {}
    if status == "succeeded":
        found = {o.metric: row.metric(o.metric) for o in objectives}
        values = {name: v for name, v in found.items() if v is not None}
    tokens, error = row.count("trained_tokens"), row.error()
    if row.problems:
        return None, row.problems
    return Result(
        source=site.source,
        row=site.row,
        trial=trial,
        key=key,
        job_id=job_id,
        status=status,
        values=values,
        trained_tokens=tokens,
        error=error,
        resolved={},
        job=None,
    ), []
