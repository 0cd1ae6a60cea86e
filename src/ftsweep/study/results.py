"""Result files read into plain records, one `Result` per trial result; nothing here knows Optuna.

`read_results` takes four kinds of file, told apart by extension and then by content:

- CSV result rows: one row per trial, named by a `trial` (number), `ftsweep_trial` (key) or
  `job_id` column; a column per objective metric (`scores.<metric>` also counts); optional
  `status`, `trained_tokens` and `error`. Empty cells are missing values; other columns are ignored.
- JSONL: one JSON object per line, a result row with the same fields or a `fine_tuning.job`.
- JSON: one job object or row, a list of them, or a `jobs.list` page (`{"object": "list", ...}`).
- A job's per-step result CSV (a `step` column and no column naming a trial, maybe base64): each
  objective metric is reduced over the steps (`ftsweep.study.steps`), making one succeeded `Result`
  for the trial passed as `trial`.

Statuses: a row without one that carries its metrics succeeded; `failed` and `cancelled` rows
need no metrics and keep none; a row or job not finished yet (validating_files, queued, running,
paused) comes back with status None and no values. Every problem in a file is collected and
raised as one ResultsError. `Result` and the reading of one row are in `ftsweep.study.rows`.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from ftsweep._bulk import bulk
from ftsweep.api.job_object import JobInfo, error_text, load_job
from ftsweep.errors import Problem, ResultsError
from ftsweep.study.rows import (
    ID_FIELDS,
    NO_TRIAL,
    NO_VALUE,
    Loc,
    Parsed,
    Result,
    Site,
    TrialRef,
    capped,
    row_result,
)
from ftsweep.study.steps import reduce_steps, step_values, unwrap_base64
from ftsweep.sweep.spec import Objective

__all__ = ["JobInfo", "Result", "TrialRef", "parse_job", "read_results", "reduce_steps"]

Found = tuple[list[Result], list[Problem]]
Parser = Callable[[Any, Site, Sequence[Objective]], Parsed]

NO_TRIAL_ARG = "a per-step result file names no trial: pass its trial"
TRIAL_ARG_UNUSED = "this file names its own trials: pass a trial only with a per-step result file"


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


def parse_job(data: Mapping[str, Any], source: str, row: int) -> Result:
    """One job object as a Result (a job object carries no metric, so `values` stays empty);
    problems raise a ResultsError."""
    result, problems = _job_result(data, Site(source, row, line=row))
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
        return _items([(data, Site(source, 1))], objectives, trial)
    sites = [Site(source, i + 1, (*prefix, i)) for i in range(len(items))]
    return _items(zip(items, sites, strict=True), objectives, trial)


def _read_jsonl(text: str, source: str, objectives: Sequence[Objective], trial: object) -> Found:
    items: list[tuple[object, Site]] = []
    problems: list[Problem] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            items.append((json.loads(line), Site(source, number, line=number)))
        except json.JSONDecodeError as exc:
            syntax = Problem((), f"JSON syntax: {exc.msg}", line=number, column=exc.colno)
            problems.append(syntax)
    results, more = _items(items, objectives, trial)
    return results, sorted(problems + more, key=lambda p: p.line or 0)


def _item(item: object, site: Site, objectives: Sequence[Objective]) -> Parsed:
    if not isinstance(item, Mapping):
        return None, [site.problem((), "must be a JSON object: a result row or a job", item)]
    kind = item.get("object")
    if kind == "fine_tuning.job":
        return _job_result(item, site)
    if kind is not None:
        return None, [site.problem(("object",), "is not a fine-tuning job nor a result row", kind)]
    return row_result(item, site, objectives)


def _items(
    items: Iterable[tuple[Any, Site]],
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


def _job_result(data: Mapping[str, Any], site: Site) -> Parsed:
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
        error=capped(error_text(job.error)),
        resolved=resolved,
        job=job.info(dict(resolved)),
    )
    return result, []


# --- CSV: result rows or per-step metrics ---------------------------------------------------

Table = list[tuple[int, dict[str, str]]]  # rows, each with the line it starts on


def _read_csv(text: str, source: str, objectives: Sequence[Objective], trial: object) -> Found:
    header, table, ragged = _csv_table(unwrap_base64(text))
    if not table:  # a syntax error, no rows, or only ragged ones
        return [], ragged
    if "step" in header and not any(name in header for name in ID_FIELDS):
        results, problems = _step_results(header, table, source, objectives, trial)
        return ([], ragged + problems) if ragged else (results, problems)
    sites = ((cells, Site(source, line, line=line)) for line, cells in table)
    results, problems = _items(sites, objectives, trial, row_result)
    problems = sorted(ragged + problems, key=lambda p: p.line or 0)
    return results, _by_column(header, problems, objectives)


def _csv_table(text: str) -> tuple[list[str], Table, list[Problem]]:
    """The header and the non-blank rows, each with the line it starts on (header = 1).

    A row with more or fewer fields than the header is left out of the table: its problem is
    returned instead, so a shifted cell is never read under another column's name.
    """
    reader = csv.reader(io.StringIO(text), strict=True)
    table: Table = []
    ragged: list[Problem] = []
    try:
        header = [name.strip() for name in next(reader, [])]
        start = reader.line_num + 1
        for cells in reader:
            if len(cells) != len(header) and any(cell.strip() for cell in cells):
                ragged.append(_ragged(len(cells), len(header), start))
            elif any(cell.strip() for cell in cells):
                table.append((start, dict(zip(header, cells, strict=True))))
            start = reader.line_num + 1
    except csv.Error as exc:
        return [], [], [Problem((), f"CSV syntax: {exc}", line=reader.line_num)]
    return header, table, ragged


def _ragged(fields: int, columns: int, line: int) -> Problem:
    message = f"row has {fields} field{'s' if fields != 1 else ''}, the header {columns}"
    return Problem((), message, line=line)


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
