"""Read several result files at once: all of them, or one error naming every problem."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ftsweep.errors import ResultsError
from ftsweep.study.results import Result, read_results
from ftsweep.sweep.spec import Objective

__all__ = ["read_results_files"]


def read_results_files(
    paths: Sequence[str | Path], objectives: Sequence[Objective], *, trial: int | str | None = None
) -> list[Result]:
    """The records of every file, in order; a ResultsError covering every bad file."""
    records: list[Result] = []
    errors: list[ResultsError] = []
    for path in paths:
        try:
            records += read_results(path, objectives, trial=trial)
        except ResultsError as exc:
            errors.append(exc)
    if errors:
        raise ResultsError.merge(errors)
    return records
