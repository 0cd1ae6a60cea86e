"""A job's per-step result file, reduced to the objective's metrics.

A per-step result file is a CSV with a `step` column and one column per metric; validation
columns are empty on steps without validation (API_FACTS 7). Each objective metric is reduced over
the steps that have a value. The service may return the file base64-encoded.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

from ftsweep.errors import Problem, ResultsError
from ftsweep.study.cells import finite, metric_cell, present, whole
from ftsweep.sweep.spec import Objective

__all__ = ["COUNT_RULE", "METRIC_RULE", "Reduce", "reduce_steps", "step_values", "unwrap_base64"]

Numbered = tuple[int, Mapping[str, object]]  # a row and the line it starts on
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


def reduce_steps(rows: Iterable[Mapping[str, object]], metric: str, how: Reduce) -> float | None:
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
