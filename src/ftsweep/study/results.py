"""Result files read into plain records, one `Result` per trial result; nothing here knows Optuna.

`read_results` takes four kinds of file, told apart by extension and then by content:

- CSV result rows: one row per trial, named by a `trial` (number), `ftsweep_trial` (key) or
  `job_id` column; a column per objective metric (`scores.<metric>` also counts); optional
  `status`, `trained_tokens` and `error`. Empty cells are missing values; other columns are ignored.
- JSONL: one JSON object per line, a result row with the same fields or a `fine_tuning.job`.
- JSON: one job object or row, a list of them, or a `jobs.list` page (`{"object": "list", ...}`).
- A job's per-step result CSV (a `step` column and no column naming a trial, maybe base64): each
  objective metric is reduced over the steps (`ftsweep.study.jobs`), making one succeeded `Result`
  for the trial passed as `trial`.

Statuses: a row without one that carries its metrics succeeded; `failed` and `cancelled` rows
need no metrics and keep none; a row or job not finished yet (validating_files, queued, running,
paused) comes back with status None and no values. Every problem in a file is collected and
raised as one ResultsError.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

from ftsweep._bulk import bulk
from ftsweep.errors import Problem, ResultsError
from ftsweep.study.jobs import (
    COUNT_RULE,
    METRIC_RULE,
    Finished,
    Hyperparameters,
    JobInfo,
    error_text,
    finite,
    load_job,
    metric_cell,
    present,
    reduce_steps,
    step_values,
    unwrap_base64,
    whole,
)
from ftsweep.sweep.spec import Objective

__all__ = ["JobInfo", "Result", "TrialRef", "parse_job", "read_results", "reduce_steps"]

Loc = tuple[str | int, ...]
Found = tuple[list["Result"], list[Problem]]
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
NO_TRIAL_ARG = "a per-step result file names no trial: pass its trial"
TRIAL_ARG_UNUSED = "this file names its own trials: pass a trial only with a per-step result file"


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


@bulk
def read_results(
    path: str | Path, objectives: Sequence[Objective], *, trial: int | str | None = None
) -> list[Result]:
    """Read a results file into records in file order, or raise one ResultsError listing all.

    `trial` (a number, a numeric string, or a key) names the trial of a per-step result file;
    other files name their trials themselves.
    """
    source = os.fspath(path)
    text = _read_text(source)
    reader = _READERS[_kind(Path(source).suffix.lower(), text)]
    results, problems = reader(text, source, objectives, trial)
    if not results and not problems:
        problems = [Problem((), "the file holds no results")]
    if problems:
        raise ResultsError(source, problems)
    return results


def parse_job(
    data: Mapping[str, Any], objectives: Sequence[Objective], source: str, row: int
) -> Result:
    """One job object as a Result (a job object carries no metric, so `values` stays empty).

    `objectives` is taken for symmetry with `read_results`; problems raise a ResultsError.
    """
    result, problems = _job_result(data, _Site(source, row, line=row))
    if result is None or problems:
        raise ResultsError(source, problems)
    return result


# --- reading and telling formats apart ------------------------------------------------------


def _read_text(source: str) -> str:
    try:
        return Path(source).read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise ResultsError(source, [Problem((), "no such file")]) from None
    except OSError as exc:
        raise ResultsError(source, [Problem((), f"cannot be read: {exc.strerror}")]) from None
    except UnicodeDecodeError as exc:
        problem = Problem((), f"is not UTF-8 text: {exc.reason} at byte {exc.start}")
        raise ResultsError(source, [problem]) from None


def _kind(suffix: str, text: str) -> Literal["csv", "json", "jsonl"]:
    if suffix in (".csv", ".json", ".jsonl"):
        return "json" if suffix == ".json" else "jsonl" if suffix == ".jsonl" else "csv"
    head = text.lstrip()[:1]
    if head == "{":
        return "json" if _is_json(text) else "jsonl"
    return "json" if head == "[" else "csv"


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class _Site:
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


Parsed = tuple[Result | None, list[Problem]]
Parser = Callable[[Any, _Site, Sequence[Objective]], Parsed]


# --- JSON and JSONL -------------------------------------------------------------------------


def _read_json(text: str, source: str, objectives: Sequence[Objective], trial: object) -> Found:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return [], [Problem((), f"JSON syntax: {exc.msg}", line=exc.lineno, column=exc.colno)]
    items: Any = data
    prefix: Loc = ()
    if isinstance(data, Mapping) and data.get("object") == "list":
        items, prefix = data.get("data"), ("data",)
        if not isinstance(items, list):
            return [], [Problem(("data",), "a list page holds a list in `data`", items)]
    if not isinstance(items, list):
        return _items([(data, _Site(source, 1))], objectives, trial)
    sites = [_Site(source, i + 1, (*prefix, i)) for i in range(len(items))]
    return _items(zip(items, sites, strict=True), objectives, trial)


def _read_jsonl(text: str, source: str, objectives: Sequence[Objective], trial: object) -> Found:
    items: list[tuple[object, _Site]] = []
    problems: list[Problem] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            items.append((json.loads(line), _Site(source, number, line=number)))
        except json.JSONDecodeError as exc:
            syntax = Problem((), f"JSON syntax: {exc.msg}", line=number, column=exc.colno)
            problems.append(syntax)
    results, more = _items(items, objectives, trial)
    return results, sorted(problems + more, key=lambda p: p.line or 0)


def _item(item: object, site: _Site, objectives: Sequence[Objective]) -> Parsed:
    if not isinstance(item, Mapping):
        return None, [site.problem((), "must be a JSON object: a result row or a job", item)]
    kind = item.get("object")
    if kind == "fine_tuning.job":
        return _job_result(item, site)
    if kind is not None:
        return None, [site.problem(("object",), "is not a fine-tuning job nor a result row", kind)]
    return _row_result(item, site, objectives)


def _items(
    items: Iterable[tuple[Any, _Site]],
    objectives: Sequence[Objective],
    trial: object,
    parse: Parser = _item,
) -> Found:
    """Parse each item (a row or job object by default); a `trial` argument is a problem here."""
    results: list[Result] = []
    problems = [Problem(("trial",), TRIAL_ARG_UNUSED, trial)] if trial is not None else []
    for item, site in items:
        result, found = parse(item, site, objectives)
        problems += found
        if result is not None:
            results.append(result)
    return results, problems


def _job_result(data: Mapping[str, Any], site: _Site) -> Parsed:
    job, resolved, problems = load_job(data, site.prefix, site.line)
    if job is None or problems:
        return None, problems
    result = Result(
        source=site.source,
        row=site.row,
        trial=None,
        key=job.key,
        job_id=job.id,
        status=job.finished,
        values={},
        trained_tokens=job.trained_tokens,
        error=error_text(job.error),
        resolved=resolved,
        job=job.info(dict(resolved)),
    )
    return result, []


# --- result rows ----------------------------------------------------------------------------


class _Row:
    """One result row's fields, read one by one; what is wrong piles up in `problems`."""

    def __init__(self, cells: Mapping[str, object], site: _Site) -> None:
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
        return error_text(value) if isinstance(value, Mapping) else self.text("error")

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


def _row_result(
    cells: Mapping[str, object], site: _Site, objectives: Sequence[Objective]
) -> Parsed:
    row = _Row(cells, site)
    status = row.status()
    if all(row.cell(name) is None for name in ID_FIELDS):
        row.fail("trial", NO_TRIAL)
    trial, key, job_id = row.count("trial"), row.text("ftsweep_trial"), row.text("job_id")
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


# --- CSV: result rows or per-step metrics ---------------------------------------------------

Table = list[tuple[int, dict[str, str]]]  # rows, each with the line it starts on


def _read_csv(text: str, source: str, objectives: Sequence[Objective], trial: object) -> Found:
    header, table, problems = _csv_table(unwrap_base64(text))
    if problems:
        return [], problems
    if not table:
        return [], []
    if "step" in header and not any(name in header for name in ID_FIELDS):
        return _step_results(header, table, source, objectives, trial)
    sites = ((cells, _Site(source, line, line=line)) for line, cells in table)
    results, problems = _items(sites, objectives, trial, _row_result)
    return results, _by_column(header, problems, objectives)


def _csv_table(text: str) -> tuple[list[str], Table, list[Problem]]:
    """The header and the non-blank rows, each with the line it starts on (header = 1)."""
    reader = csv.reader(io.StringIO(text), strict=True)
    table: Table = []
    try:
        header = [name.strip() for name in next(reader, [])]
        start = reader.line_num + 1
        for cells in reader:
            if any(cell.strip() for cell in cells):
                table.append((start, dict(zip(header, cells, strict=False))))
            start = reader.line_num + 1
    except csv.Error as exc:
        return [], [], [Problem((), f"CSV syntax: {exc}", line=reader.line_num)]
    return header, table, []


def _by_column(
    header: list[str], problems: list[Problem], objectives: Sequence[Objective]
) -> list[Problem]:
    """Say once that a column is missing, instead of on every row that needed it."""
    absent: dict[tuple[str, str], str] = {}
    if not any(name in header for name in ID_FIELDS):
        columns = ", ".join(header)
        absent["trial", NO_TRIAL] = (
            "no trial, ftsweep_trial or job_id column names each row's trial (a per-step "
            f"result file has a step column instead); the columns are: {columns}"
        )
    for name in (o.metric for o in objectives):
        if name not in header and f"scores.{name}" not in header:
            absent[name, NO_VALUE] = (
                f"no {name} or scores.{name} column; a row that succeeded needs every "
                "objective metric"
            )
    hit = {_tag(p) for p in problems} & absent.keys()
    heads = [Problem((tag[0],), absent[tag], line=1) for tag in absent if tag in hit]
    return heads + [p for p in problems if _tag(p) not in hit]


def _tag(problem: Problem) -> tuple[str | int, str]:
    return (problem.loc[-1] if problem.loc else "", problem.message)


def _step_results(
    header: list[str], table: Table, source: str, objectives: Sequence[Objective], trial: object
) -> Found:
    number, key, problems = _trial_arg(trial)
    values, found = step_values(header, table, objectives)
    if problems or found:
        return [], problems + found
    result = Result(
        source=source,
        row=1,
        trial=number,
        key=key,
        job_id=None,
        status="succeeded",
        values=values,
        trained_tokens=None,
        error=None,
        resolved={},
        job=None,
    )
    return [result], []


def _trial_arg(trial: object) -> tuple[int | None, str | None, list[Problem]]:
    """A trial number or key from the `trial` argument (a numeric string is a number)."""
    if trial is None:
        return None, None, [Problem(("trial",), NO_TRIAL_ARG)]
    if isinstance(trial, str):
        text = trial.strip()
        if not (text.isascii() and text.isdigit()):
            empty = [Problem(("trial",), "a trial key cannot be empty", trial)]
            return None, text or None, [] if text else empty
        trial = int(text)
    if isinstance(trial, bool) or not isinstance(trial, int) or trial < 0:
        return None, None, [Problem(("trial",), "a trial number is a whole number >= 0", trial)]
    return trial, None, []


_READERS = {"csv": _read_csv, "json": _read_json, "jsonl": _read_jsonl}
